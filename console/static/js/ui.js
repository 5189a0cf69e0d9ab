// The console's building blocks: page headers, tables, dialogs, forms with
// errors next to their fields, empty states, cards, budget bars, notices.

import { h, append, replace, uid } from './dom.js';
import { ApiError } from './api.js';
import * as fmt from './format.js';

/** `<time>` in the browser's zone, UTC on hover. */
export function time(ts, { dateOnly = false } = {}) {
  if (!ts) return h('span', { class: 'muted' }, 'never');
  return h('time', { datetime: ts, title: fmt.utc(ts) }, dateOnly ? fmt.day(ts) : fmt.dateTime(ts));
}

export function button(label, onClick, { variant = '', type = 'button', ...rest } = {}) {
  return h('button', { type, class: ['btn', variant], on: onClick ? { click: onClick } : undefined, ...rest }, label);
}

export function pageHeader(title, description, ...actions) {
  return h('header', { class: 'page-header' },
    h('div', { class: 'page-title' },
      h('h1', { tabindex: '-1', id: 'page-title' }, title),
      description ? h('p', { class: 'muted' }, description) : null),
    h('div', { class: 'page-actions' }, actions));
}

export function section(title, ...children) {
  const id = title ? uid('sec') : undefined;
  // Only a titled section names itself after its heading.
  return h('section', { class: 'panel', 'aria-labelledby': id },
    title ? h('h2', { id }, title) : null, children);
}

/** Summary cards: [{label, value, hint}] */
export function cards(items) {
  return h('div', { class: 'cards' }, items.map((c) =>
    h('div', { class: 'card' },
      h('div', { class: 'card-label' }, c.label),
      h('div', { class: 'card-value' }, c.value),
      c.hint ? h('div', { class: 'card-hint muted' }, c.hint) : null)));
}

export function emptyState(title, text, action) {
  return h('div', { class: 'empty' },
    h('p', { class: 'empty-title' }, title),
    text ? h('p', { class: 'muted' }, text) : null,
    action || null);
}

export function badge(text, tone = '') {
  return h('span', { class: ['badge', tone && `badge-${tone}`] }, text);
}

const STATUS_TONES = { active: 'green', invited: 'blue', suspended: 'red', revoked: 'red', expired: 'grey', rotated: 'yellow' };
export function statusBadge(status) { return badge(status, STATUS_TONES[status] || ''); }

/** Placeholder rows of a fixed height while data loads: no layout jump. */
export function skeleton(lines = 4) {
  return h('div', { class: 'skeleton', 'aria-hidden': 'true' },
    Array.from({ length: lines }, () => h('div', { class: 'skeleton-line' })));
}

/** An error box for a whole section (role=alert). */
export function errorBox(err) {
  const message = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  return h('div', { class: 'error-box', role: 'alert' }, message);
}

/** Why an enterprise page shows nothing: the plan lacks the feature. */
export function planRequired(feature, what) {
  return h('div', { class: 'plan-required', role: 'note' },
    h('p', { class: 'empty-title' }, `${what} needs the Enterprise plan`),
    h('p', { class: 'muted' },
      `This organization's plan does not include “${feature}”, so the API answers 403 plan_required. `
      + 'An operator can change the plan (gatehouse admin set-plan <org-slug> enterprise).'));
}

/** Fills `el` with what `load()` resolves to, a skeleton meanwhile. */
export function fill(el, load, { lines = 4 } = {}) {
  replace(el, skeleton(lines));
  return reloader(el)(() => load());
}

/**
 * Redraws `box` from `load(stale)`, newest call wins: the box is busy
 * meanwhile, an error lands in it, and `focus()` may name the control to
 * focus once drawn. `load` checks `stale()` before touching anything else.
 */
export function reloader(box) {
  let generation = 0;
  return async (load, focus) => {
    const mine = ++generation;
    const stale = () => mine !== generation;
    box.setAttribute('aria-busy', 'true');
    try {
      const node = await load(stale);
      if (stale()) return;
      replace(box, node);
      const target = focus && focus();
      if (target) target.focus();
    } catch (err) {
      if (!stale()) replace(box, errorBox(err));
    } finally {
      if (!stale()) box.removeAttribute('aria-busy');
    }
  };
}

// -- notices ---------------------------------------------------------------

export function notify(message, tone = 'ok') {
  const box = document.getElementById('notices');
  if (!box) return;
  const note = h('div', { class: ['notice', `notice-${tone}`] }, message);
  box.append(note);
  setTimeout(() => note.remove(), 6000);
}

/**
 * Runs `action` (a call to the API) and says how it went: `done` as a
 * notice, or the API's error. Resolves true when it succeeded.
 */
export async function attempt(action, done) {
  try {
    await action();
    notify(done);
    return true;
  } catch (err) {
    notify(err.message, 'error');
    return false;
  }
}

// -- tables ----------------------------------------------------------------

/**
 * A table. columns: [{key, label, render(row) → node|text, sortable, align}];
 * sort: {key, order} with onSort(key, order) to re-query; expand(row) → node
 * adds a disclosure button per row; empty: a node shown instead when no rows.
 */
export function table({ columns, rows, caption, sort, onSort, expand, empty, rowLabel }) {
  if (!rows || rows.length === 0) return empty || emptyState('Nothing here yet.');
  const head = h('tr', null,
    expand ? h('th', { scope: 'col', class: 'col-expand' }, h('span', { class: 'sr-only' }, 'Details')) : null,
    columns.map((c) => {
      const active = sort && sort.key === c.key;
      const aria = active ? (sort.order === 'asc' ? 'ascending' : 'descending') : (c.sortable ? 'none' : undefined);
      const label = c.sortable && onSort
        ? h('button', {
          type: 'button', class: 'sort',
          on: { click: () => onSort(c.key, active && sort.order === 'asc' ? 'desc' : 'asc') },
        }, c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ' ↕'))
        : c.label;
      return h('th', { scope: 'col', 'aria-sort': aria, class: c.align === 'right' ? 'num' : '' }, label);
    }));
  const body = h('tbody');
  for (const row of rows) {
    const cells = columns.map((c) => h('td', { class: c.align === 'right' ? 'num' : '', 'data-label': c.label },
      c.render ? c.render(row) : row[c.key]));
    const tr = h('tr');
    body.append(tr);
    if (expand) {
      const detailId = uid('row');
      const detail = h('tr', { class: 'row-detail', id: detailId, hidden: true },
        h('td', { colspan: String(columns.length + 1) }));
      const toggle = h('button', {
        type: 'button', class: 'btn-icon', 'aria-expanded': 'false', 'aria-controls': detailId,
        'aria-label': `Details of ${rowLabel ? rowLabel(row) : 'this row'}`,
        on: {
          click: () => {
            const open = toggle.getAttribute('aria-expanded') !== 'true';
            toggle.setAttribute('aria-expanded', String(open));
            detail.hidden = !open;
            if (open) replace(detail.firstChild, expand(row));
          },
        },
      }, h('span', { 'aria-hidden': 'true' }, '▸'));
      append(tr, h('td', { class: 'col-expand' }, toggle), cells);
      body.append(detail);
    } else {
      append(tr, cells);
    }
  }
  return h('div', { class: 'table-wrap' },
    h('table', null, caption ? h('caption', { class: 'sr-only' }, caption) : null, h('thead', null, head), body));
}

/** A definition list of label → value pairs. */
export function details(pairs) {
  return h('dl', { class: 'details' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// -- dialogs and forms ----------------------------------------------------

/** Opens a modal <dialog>; resolves with what `close(value)` is given. */
export function openDialog(title, build, { wide = false } = {}) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const dialog = h('dialog', { class: ['dialog', wide && 'dialog-wide'], 'aria-labelledby': titleId });
    let result;
    const opener = document.activeElement;
    const close = (value) => { result = value; dialog.close(); };
    dialog.addEventListener('close', () => {
      dialog.remove();
      // Back where the user was (if that control is still on the page).
      if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
      resolve(result);
    });
    const heading = h('h2', { id: titleId, tabindex: '-1' }, title);
    append(dialog, heading, build(close));
    document.body.append(dialog);
    dialog.showModal();
    // Start at the top: the title, not the last button of a long dialog.
    heading.focus();
  });
}

/** Asks before something that cannot be undone; resolves true or false. */
export function confirm(title, message, { confirmLabel = 'Confirm', danger = true } = {}) {
  return openDialog(title, (close) => [
    h('div', { class: 'dialog-body' }, Array.isArray(message) ? message : h('p', null, message)),
    h('div', { class: 'dialog-actions' },
      button('Cancel', () => close(false)),
      button(confirmLabel, () => close(true), { variant: danger ? 'danger' : 'primary' })),
  ]).then(Boolean);
}

/**
 * A labelled control. spec: {name, label, type ('text', 'email', 'password',
 * 'number', 'select', 'textarea', 'checkbox', 'datetime-local'), value,
 * options: [[value, label]], required, hint, placeholder, min, max, step,
 * multiple, autocomplete}.
 */
export function field(spec) {
  const id = uid(`f-${spec.name}`);
  const errorId = `${id}-error`;
  const hintId = spec.hint ? `${id}-hint` : null;
  const common = {
    id, name: spec.name, required: spec.required || undefined,
    'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
    autocomplete: spec.autocomplete || undefined,
    placeholder: spec.placeholder || undefined,
    disabled: spec.disabled || undefined,
  };
  let control;
  if (spec.type === 'select') {
    control = h('select', { ...common, multiple: spec.multiple || undefined },
      (spec.options || []).map(([v, l]) => h('option', {
        value: v,
        selected: spec.multiple ? (spec.value || []).includes(v) : String(spec.value ?? '') === String(v),
      }, l)));
  } else if (spec.type === 'textarea') {
    control = h('textarea', { ...common, rows: spec.rows || 4 });
    control.value = spec.value ?? '';
  } else if (spec.type === 'checkbox') {
    control = h('input', { ...common, type: 'checkbox', checked: Boolean(spec.value) });
  } else {
    control = h('input', {
      ...common, type: spec.type || 'text', value: spec.value ?? '',
      min: spec.min, max: spec.max, step: spec.step, inputmode: spec.inputmode,
    });
  }
  const error = h('p', { class: 'field-error', id: errorId });
  const wrap = h('div', { class: ['field', spec.type === 'checkbox' && 'field-check'], 'data-field': spec.name },
    spec.type === 'checkbox'
      ? h('label', { for: id }, control, ' ', spec.label)
      : [h('label', { for: id }, spec.label, spec.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null), control],
    spec.hint ? h('p', { class: 'hint muted', id: hintId }, spec.hint) : null,
    error);
  wrap.control = control;
  return wrap;
}

/** Reads a form's controls into an object (numbers for type=number). */
export function formValues(form) {
  const out = {};
  for (const el of form.querySelectorAll('input, select, textarea')) {
    if (!el.name) continue;
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.multiple) out[el.name] = [...el.selectedOptions].map((o) => o.value);
    else if (el.type === 'number') out[el.name] = el.value === '' ? null : Number(el.value);
    else out[el.name] = el.value;
  }
  return out;
}

/** Clears the field errors of a form. */
export function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error, .form-error')) p.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/** Shows an API error next to the field it names, else at the form's top. */
export function showError(form, err, fieldAliases = {}) {
  const name = err instanceof ApiError ? err.field : null;
  const target = name && form.querySelector(`[data-field="${CSS.escape(fieldAliases[name] || name)}"]`);
  if (target) {
    // Next to its field the message needs no "field 'name': " prefix.
    target.querySelector('.field-error').textContent = err.message.replace(/^field '[^']*':\s*/, '');
    const control = target.control || target.querySelector('input, select, textarea');
    if (control) { control.setAttribute('aria-invalid', 'true'); control.focus(); }
    return;
  }
  const top = form.querySelector('.form-error');
  if (top) { top.textContent = err.message; top.focus(); }
}

/** Marks one field invalid with a message of the console's own. */
export function fieldError(form, name, message) {
  const target = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!target) return;
  target.querySelector('.field-error').textContent = message;
  const control = target.control;
  if (control) { control.setAttribute('aria-invalid', 'true'); control.focus(); }
}

/**
 * A form in a dialog. fields: field() specs or nodes; submit(values, form)
 * returns what the dialog resolves with, or throws an ApiError shown next to
 * its field (the dialog stays open). validate(values, form) may return false
 * after marking fields.
 */
export function formDialog(title, { fields, submitLabel = 'Save', submit, validate, intro, danger = false, wide = false }) {
  return openDialog(title, (close) => {
    const form = h('form', { class: 'form', novalidate: true },
      intro ? h('div', { class: 'dialog-body' }, intro) : null,
      h('p', { class: 'form-error', role: 'alert', tabindex: '-1' }),
      fields.map((f) => (f instanceof Node ? f : field(f))),
      h('div', { class: 'dialog-actions' },
        button('Cancel', () => close(undefined)),
        button(submitLabel, null, { type: 'submit', variant: danger ? 'danger' : 'primary' })));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const values = formValues(form);
      if (validate && validate(values, form) === false) return;
      const submitBtn = form.querySelector('button[type=submit]');
      submitBtn.disabled = true;
      try {
        const result = await submit(values, form);
        close(result === undefined ? true : result);
      } catch (err) {
        showError(form, err);
      } finally {
        submitBtn.disabled = false;
      }
    });
    return form;
  }, { wide });
}

// -- money and budgets ----------------------------------------------------

/** A team's budget bar: green under 70 %, yellow 70–89 %, red from 90 %. */
export function budgetBar(budget, spend, limit) {
  if (!budget || limit === null || limit === undefined) {
    return h('span', { class: 'muted' }, 'No limit');
  }
  const pctUsed = Number(budget.used_pct) || 0;
  const bar = h('div', { class: 'bar-fill' });
  bar.style.width = `${Math.min(100, Math.max(0, pctUsed))}%`;
  return h('div', { class: ['budget', `budget-${budget.status}`], 'data-status': budget.status },
    h('div', {
      class: 'bar', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100',
      'aria-valuenow': String(Math.round(pctUsed)), 'aria-label': 'Budget used',
      'aria-valuetext': `${fmt.pct(pctUsed)} of ${fmt.usd(limit)} (${budget.status})`,
    }, bar),
    h('span', { class: 'budget-text' }, `${fmt.usd(spend)} of ${fmt.usd(limit)} · ${fmt.pct(pctUsed)}`));
}

/** A button that copies `text` and says so. */
export function copyButton(text, label = 'Copy') {
  const btn = button(label, async () => {
    try {
      await navigator.clipboard.writeText(text);
      btn.textContent = 'Copied';
    } catch {
      btn.textContent = 'Select and copy';
    }
    setTimeout(() => { btn.textContent = label; }, 2000);
  });
  return btn;
}

/** A secret shown once: read-only field, copy button, a warning. */
export function secretOnce(label, value,
  warning = 'Copy it now: Gatehouse stores only a hash and will not show it again.') {
  const id = uid('secret');
  const input = h('input', { id, class: 'secret', readonly: true, value, spellcheck: 'false', autocomplete: 'off' });
  input.addEventListener('focus', () => input.select());
  return h('div', { class: 'secret-once' },
    h('label', { for: id }, label),
    h('div', { class: 'secret-row' }, input, copyButton(value)),
    h('p', { class: 'warning' }, warning));
}

/** Cursor pagination: a "Load more" button while next_cursor is set. */
export function moreButton(onClick) {
  return button('Load more', onClick, { class: 'btn more' });
}
