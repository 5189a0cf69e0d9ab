// Pricing: the effective price of each model (built-in list prices and the
// org's overrides) and, for admins on a plan with cost tracking, an editor
// of the overrides. Saving replaces the whole override set.

import { h, replace, uid } from '../dom.js';
import { get, put } from '../api.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';

const SOURCES = { builtin: ['built-in', ''], override: ['override', 'blue'] };

function sourceBadge(source) {
  const [text, tone] = SOURCES[source] || [source, ''];
  return ui.badge(text, tone);
}

/** {models: {name: {...}}} → sorted rows. */
function toRows(answer) {
  return Object.entries((answer && answer.models) || {})
    .map(([model, p]) => ({ model, ...p }))
    .sort((a, b) => a.model.localeCompare(b.model));
}

function priceTable(rows, filter, onOverride) {
  const q = filter.trim().toLowerCase();
  const shown = q ? rows.filter((r) => r.model.toLowerCase().includes(q)) : rows;
  const columns = [
    { key: 'model', label: 'Model', render: (r) => h('code', null, r.model) },
    { key: 'input_per_mtok', label: 'Input / 1M tokens', align: 'right', render: (r) => fmt.usd(r.input_per_mtok) },
    { key: 'output_per_mtok', label: 'Output / 1M tokens', align: 'right', render: (r) => fmt.usd(r.output_per_mtok) },
    {
      key: 'source', label: 'Source',
      render: (r) => h('span', { class: 'gw-source' }, sourceBadge(r.source),
        onOverride && r.source !== 'override'
          ? ui.button('Override', () => onOverride(r), { class: 'btn small', 'aria-label': `Override ${r.model}` })
          : null),
    },
  ];
  return h('div', { class: 'gw-table gw-prices' }, ui.table({
    columns,
    rows: shown,
    caption: 'Effective prices in USD per million tokens',
    empty: ui.emptyState(q ? `No model matches “${filter}”.` : 'No prices yet.',
      q ? 'Clear the filter to see every model.' : 'Built-in prices appear here; admins can add overrides.'),
  }));
}

/** One editable override row with labelled inputs. */
function editorRow(entry, onRemove) {
  const ids = { model: uid('pm'), input: uid('pi'), output: uid('po') };
  const model = h('input', { id: ids.model, name: 'model', value: entry.model || '', autocomplete: 'off', spellcheck: 'false', placeholder: 'gpt-4o-mini' });
  const input = h('input', { id: ids.input, name: 'input', type: 'number', min: '0', step: 'any', value: entry.input_per_mtok ?? '', inputmode: 'decimal' });
  const output = h('input', { id: ids.output, name: 'output', type: 'number', min: '0', step: 'any', value: entry.output_per_mtok ?? '', inputmode: 'decimal' });
  const error = h('p', { class: 'field-error', role: 'alert' });
  const removeLabel = () => `Remove ${model.value.trim() || 'this row'}`;
  const remove = ui.button('Remove', null, { class: 'btn small', 'aria-label': removeLabel() });
  model.addEventListener('input', () => remove.setAttribute('aria-label', removeLabel()));
  const row = h('div', { class: 'gw-price-row' },
    h('div', { class: 'gw-price-cell' }, h('label', { for: ids.model }, 'Model'), model),
    h('div', { class: 'gw-price-cell' }, h('label', { for: ids.input }, 'Input USD / 1M'), input),
    h('div', { class: 'gw-price-cell' }, h('label', { for: ids.output }, 'Output USD / 1M'), output),
    h('div', { class: 'gw-price-cell gw-price-remove' }, remove),
    error);
  remove.addEventListener('click', () => onRemove(row));
  row.controls = { model, input, output, error };
  return row;
}

/** The override editor; `onSaved(answer)` gets the new effective table. */
function overrideEditor(rows, onSaved) {
  const list = h('div', { class: 'gw-price-list' });
  const empty = h('p', { class: 'muted' }, 'No overrides: every model uses its built-in price.');
  const formError = h('p', { class: 'form-error', role: 'alert', tabindex: '-1' });
  const sync = () => { empty.hidden = list.children.length > 0; };
  const removeRow = (row) => { row.remove(); sync(); };
  const addRow = (entry = {}) => {
    const row = editorRow(entry, removeRow);
    list.append(row);
    sync();
    return row;
  };
  for (const r of rows.filter((x) => x.source === 'override')) addRow(r);

  const form = h('form', { class: 'form', novalidate: true },
    h('p', null, 'Saving replaces the organization’s ', h('strong', null, 'whole override set'),
      ' with the rows below. A model you remove goes back to its built-in price, or costs $0 and shows as unpriced in usage.'),
    formError, empty, list,
    h('div', { class: 'gw-price-actions' },
      ui.button('Add model', () => addRow().controls.model.focus()),
      ui.button('Save', null, { type: 'submit', variant: 'primary' })));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    formError.textContent = '';
    const models = {};
    let bad = null;
    for (const row of list.children) {
      const c = row.controls;
      c.error.textContent = '';
      for (const el of [c.model, c.input, c.output]) el.removeAttribute('aria-invalid');
      const name = c.model.value.trim();
      const inP = Number(c.input.value);
      const outP = Number(c.output.value);
      let msg = null; let el = null;
      if (!name) { msg = 'Name the model.'; el = c.model; }
      else if (Object.hasOwn(models, name)) { msg = `${name} is listed twice.`; el = c.model; }
      else if (c.input.value === '' || !Number.isFinite(inP) || inP < 0) { msg = 'The input price must be a number of at least 0.'; el = c.input; }
      else if (c.output.value === '' || !Number.isFinite(outP) || outP < 0) { msg = 'The output price must be a number of at least 0.'; el = c.output; }
      if (msg) {
        c.error.textContent = msg;
        el.setAttribute('aria-invalid', 'true');
        if (!bad) bad = el;
        continue;
      }
      models[name] = { input_per_mtok: inP, output_per_mtok: outP };
    }
    if (bad) { bad.focus(); return; }
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const answer = await put('/api/v1/pricing', { models });
      const n = Object.keys(models).length;
      ui.notify(n ? `Saved ${fmt.count(n)} price override${n === 1 ? '' : 's'}` : 'Removed every price override');
      onSaved(answer);
    } catch (err) {
      formError.textContent = err.message;
      formError.focus();
    } finally {
      submit.disabled = false;
    }
  });
  form.addOverride = (r) => {
    const row = addRow(r);
    row.scrollIntoView({ block: 'nearest' });
    row.controls.input.focus();
  };
  return form;
}

export default {
  path: '/ui/pricing',
  title: 'Pricing',
  async render(ctx) {
    const { session } = ctx;
    const canEdit = session.can('pricing:write') && session.entitled('cost_tracking');
    let filter = ctx.params.get('q') || '';
    let rows = [];
    let editor = null;
    const tableBox = h('div');
    const editorBox = h('div');

    const search = ui.field({ name: 'q', label: 'Filter models', type: 'search', value: filter, autocomplete: 'off' });
    search.control.addEventListener('input', () => {
      filter = search.control.value;
      const url = new URL(location.href);
      if (filter) url.searchParams.set('q', filter); else url.searchParams.delete('q');
      history.replaceState(null, '', url.pathname + url.search);
      drawTable();
    });

    const onOverride = canEdit ? (r) => editor && editor.addOverride(r) : null;
    function drawTable() { replace(tableBox, priceTable(rows, filter, onOverride)); }
    function show(answer) {
      rows = toRows(answer);
      drawTable();
      if (canEdit) {
        editor = overrideEditor(rows, show);
        replace(editorBox, editor);
      }
    }
    let editSection = null;
    if (canEdit) {
      editSection = ui.section('Price overrides', editorBox);
    } else if (session.can('pricing:write')) {
      editSection = ui.section('Price overrides', ui.planRequired('cost_tracking', 'Overriding prices'));
    }
    const costNote = session.entitled('cost_tracking') ? null
      : h('p', { class: 'muted' }, 'This plan does not track costs: logs and usage show no dollar amounts, only whether a model is priced.');
    const prices = ui.section('Effective prices', costNote, h('div', { class: 'toolbar gw-filter' }, search), tableBox);

    // Both sections appear at once: the overrides, however many, push
    // nothing down while the prices load.
    const sections = h('div');
    ui.fill(sections, async () => {
      const answer = await get('/api/v1/pricing');
      rows = toRows(answer);
      if (canEdit) {
        editor = overrideEditor(rows, show);
        replace(editorBox, editor);
      }
      drawTable();
      return canEdit ? [editSection, prices] : [prices, editSection];
    }, { lines: 8 });
    return h('div', null,
      ui.pageHeader('Pricing', 'What each model costs, in USD per million tokens. Prices decide request costs and team budgets.'),
      sections);
  },
};
