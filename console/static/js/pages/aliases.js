// Model aliases: the organization's table of short model names and the
// models they stand for. Every plan has it. Each change sends the whole
// table: PUT /api/v1/aliases replaces what is stored.

import { h } from '../dom.js';
import { get, put, ApiError } from '../api.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';

const MAX_NAME_BYTES = 128;
const MAX_TARGET_BYTES = 256;
const MAX_ALIASES = 200;

const bytes = (s) => new TextEncoder().encode(s).length;

/** {aliases: {name: target}} → rows sorted by name. */
function toRows(table) {
  return Object.entries(table || {})
    .map(([name, target]) => ({ name, target }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** "openai/gpt-4o-mini" → ["openai", "gpt-4o-mini"]; no prefix → [null, model]. */
function splitTarget(target) {
  const i = target.indexOf('/');
  return i > 0 ? [target.slice(0, i), target.slice(i + 1)] : [null, target];
}

/** Why `value` cannot be an alias name or target (the API's rules), or null. */
function textProblem(value, what, maxBytes) {
  if (!value) return `Enter the ${what}.`;
  if (bytes(value) > maxBytes) return `At most ${maxBytes} bytes.`;
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return 'No spaces or control characters.';
  return null;
}

function explanation() {
  return h('div', { class: 'ins-prose gw-explain' },
    h('p', null, 'A request whose ', h('code', null, 'model'), ' is exactly an alias (case-sensitive) is sent '
      + 'with the alias\'s target instead. A target may start with a provider (',
    h('code', null, 'openai/gpt-4o-mini'), '), which then serves the request. Scopes, prices and budgets apply '
      + 'to the target.'),
    h('p', null, 'Apps can have aliases of their own: the app of the request\'s key is looked up first, then this '
      + 'table. Aliases resolve in one step and never chain. The answer carries ',
    h('code', null, 'X-Gatehouse-Model'), ' with the model sent upstream, and the request log keeps both names.'));
}

/** The table as it is stored now, with the change `edit(table)` applied. */
async function saveWith(edit) {
  const { aliases } = await get('/api/v1/aliases');
  const table = { ...(aliases || {}) };
  edit(table);
  return put('/api/v1/aliases', { aliases: table });
}

/**
 * The API names the entry ("field 'aliases.fast': target …"): a message about
 * this dialog's alias goes next to its name or target field.
 */
function placeError(err, name) {
  if (!(err instanceof ApiError) || err.field !== `aliases.${name}`) return err;
  const text = err.message.replace(/^field '[^']*':\s*/, '');
  const where = /^alias name/.test(text) ? 'name' : 'target';
  return new ApiError(err.status, err.code, `field '${where}': ${text}`);
}

async function editAlias(current, rows, reload) {
  const names = new Set(rows.map((r) => r.name));
  let saved = '';
  const result = await ui.formDialog(current ? `Edit ${current.name}` : 'New alias', {
    submitLabel: current ? 'Save' : 'Create',
    intro: h('p', { class: 'muted' }, 'Saving sends the organization\'s whole alias table; the API replaces the stored table with it.'),
    fields: [
      {
        name: 'name', label: 'Alias', required: true, autocomplete: 'off', value: current ? current.name : '',
        placeholder: 'fast', hint: 'The model name clients send. No spaces; at most 128 bytes.',
      },
      {
        name: 'target', label: 'Target model', required: true, autocomplete: 'off',
        value: current ? current.target : '', placeholder: 'openai/gpt-4o-mini',
        hint: 'The model sent upstream, optionally with its provider first (provider/model). It may not be another alias of this table.',
      },
    ],
    validate: (v, form) => {
      const name = v.name.trim();
      const target = v.target.trim();
      const nameWhy = textProblem(name, 'alias', MAX_NAME_BYTES);
      if (nameWhy) { ui.fieldError(form, 'name', nameWhy); return false; }
      if (names.has(name) && (!current || current.name !== name)) {
        ui.fieldError(form, 'name', `“${name}” is already an alias; edit that row instead.`);
        return false;
      }
      if (!current && names.size >= MAX_ALIASES) {
        ui.fieldError(form, 'name', `A table holds at most ${MAX_ALIASES} aliases.`);
        return false;
      }
      const targetWhy = textProblem(target, 'target model', MAX_TARGET_BYTES);
      if (targetWhy) { ui.fieldError(form, 'target', targetWhy); return false; }
      if (target === name) { ui.fieldError(form, 'target', 'An alias cannot name itself.'); return false; }
      return true;
    },
    submit: async (v) => {
      const name = v.name.trim();
      saved = name;
      try {
        return await saveWith((table) => {
          if (current) delete table[current.name];
          table[name] = v.target.trim();
        });
      } catch (err) {
        throw placeError(err, name);
      }
    },
  });
  if (!result || !result.aliases) return;
  ui.notify(current ? `Saved ${saved}` : `Added ${saved}`);
  reload();
}

async function removeAlias(row, reload) {
  const ok = await ui.confirm(`Remove ${row.name}?`,
    [h('p', null, `Requests for “${row.name}” are no longer sent to ${row.target}: unless an app defines it, `
      + 'the name goes to provider selection as it is and usually fails.'),
    h('p', { class: 'muted' }, 'The rest of the table is saved unchanged.')],
    { confirmLabel: 'Remove' });
  if (!ok) return;
  try {
    await saveWith((table) => { delete table[row.name]; });
    ui.notify(`Removed ${row.name}`);
    reload();
  } catch (err) {
    ui.notify(err.message, 'error');
  }
}

function aliasTable(rows, canWrite, reload, emptyAction) {
  const columns = [
    { key: 'name', label: 'Alias', render: (r) => h('code', { class: 'gw-alias' }, r.name) },
    {
      key: 'target', label: 'Target model',
      render: (r) => h('span', { class: 'gw-alias-target' }, h('span', { 'aria-hidden': 'true' }, '→ '), h('code', null, r.target)),
    },
    {
      key: 'provider', label: 'Provider',
      render: (r) => {
        const [provider] = splitTarget(r.target);
        return provider ? provider : h('span', { class: 'muted' }, 'chosen as usual');
      },
    },
  ];
  if (canWrite) {
    columns.push({
      key: 'actions', label: 'Actions',
      render: (r) => h('div', { class: 'row-actions' },
        ui.button('Edit', () => editAlias(r, rows, reload), { class: 'btn small', 'aria-label': `Edit ${r.name}` }),
        ui.button('Remove', () => removeAlias(r, reload), { class: 'btn small danger', 'aria-label': `Remove ${r.name}` })),
    });
  }
  return h('div', { class: 'gw-table' }, ui.table({
    columns,
    rows,
    caption: 'Model aliases of the organization',
    empty: ui.emptyState('No aliases yet.',
      canWrite ? 'Add one to give a model a short, stable name (for example “fast” for openai/gpt-4o-mini).'
        : 'An admin can add one to give a model a short, stable name.',
      emptyAction),
  }));
}

export default {
  path: '/ui/aliases',
  title: 'Model aliases',
  async render(ctx) {
    const { session } = ctx;
    const canWrite = session.can('aliases:write');
    const body = h('div');
    let rows = [];
    const reload = () => ui.fill(body, async () => {
      const answer = await get('/api/v1/aliases');
      rows = toRows(answer.aliases);
      const emptyAction = canWrite
        ? ui.button('Add an alias', () => editAlias(null, rows, reload), { variant: 'primary' }) : null;
      return h('div', null,
        rows.length ? h('p', { class: 'muted gw-limit' }, `${fmt.count(rows.length)} of ${fmt.count(MAX_ALIASES)} aliases.`) : null,
        aliasTable(rows, canWrite, reload, emptyAction));
    }, { lines: 4 });
    reload();
    return h('div', null,
      ui.pageHeader('Model aliases', 'Short model names clients send, and the models they stand for.',
        canWrite ? ui.button('New alias', () => editAlias(null, rows, reload), { variant: 'primary' }) : null),
      ui.section('Organization aliases', body),
      ui.section('How aliases resolve', explanation()));
  },
};
