// Request logs: filters kept in the address (a reload keeps them), a table
// paged by cursor, and every field of one request in a dialog.

import { h, replace } from '../dom.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';
import { get } from '../api.js';
import { lookups } from './usage.js';

const PAGE = 50;
const FILTERS = ['provider', 'model', 'status', 'app_id', 'team_id', 'key_id', 'session_id', 'from', 'to'];

const withSeconds = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

/** A log's time to the second, in the browser's zone (UTC on hover). */
function logTime(ts) {
  const d = new Date(ts);
  if (!ts || Number.isNaN(d.getTime())) return ui.time(ts);
  return h('time', { datetime: ts, title: fmt.utc(ts) }, withSeconds.format(d));
}

function statusTone(status) {
  if (status >= 500) return 'red';
  if (status >= 400) return 'yellow';
  if (status >= 300) return 'blue';
  return 'green';
}

function statusCell(r) {
  const b = ui.badge(String(r.status), statusTone(r.status));
  if (r.error_code) b.title = r.error_code;
  return b;
}

/** Pretty JSON when the text is JSON, else the text as it is. */
function bodyText(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function yesNo(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  return v ? 'yes' : 'no';
}

function orNone(v) {
  return v === null || v === undefined || v === '' ? h('span', { class: 'muted' }, '—') : String(v);
}

function guardrailList(hits) {
  if (!Array.isArray(hits) || hits.length === 0) return h('span', { class: 'muted' }, 'none matched');
  return h('ul', { class: 'ins-plain-list' }, hits.map((g) =>
    h('li', null, `${g.rule}: ${g.action}${g.count !== undefined ? ` × ${fmt.count(g.count)}` : ''}`)));
}

// The fields shown by name, in this order; any other field follows as JSON.
const KNOWN = ['id', 'request_id', 'created_at', 'status', 'error_code', 'method', 'path', 'provider',
  'model', 'requested_model', 'stream', 'tokens_in', 'tokens_out', 'usage_estimated', 'cost_usd',
  'unpriced', 'latency_ms', 'ttft_ms', 'key_id', 'key_prefix', 'app_id', 'team_id', 'env',
  'session_id', 'end_user', 'cache', 'translated', 'guardrails', 'metadata', 'request_body',
  'response_body'];

function detailView(r, names) {
  const ms = (v) => (v === null || v === undefined ? h('span', { class: 'muted' }, '—') : `${fmt.count(v)} ms`);
  const named = (map, id) => (id ? `${map.get(id) || 'not visible to you'} (${id})` : h('span', { class: 'muted' }, '—'));
  const pairs = [
    ['Time', h('span', null, logTime(r.created_at), ' ', h('span', { class: 'muted' }, fmt.utc(r.created_at)))],
    ['Request ID', h('code', null, r.request_id)],
    ['Log ID', h('code', null, r.id)],
    ['Status', h('span', null, statusCell(r), r.error_code ? ` ${r.error_code}` : '')],
    ['Method and path', h('code', null, `${r.method} ${r.path}`)],
    ['Provider', orNone(r.provider)],
    ['Model', orNone(r.model)],
    ['Requested model', r.requested_model ? `${r.requested_model} (an alias)` : orNone(null)],
    ['Streamed', yesNo(r.stream)],
    ['Tokens in', fmt.count(r.tokens_in)],
    ['Tokens out', fmt.count(r.tokens_out)],
    ['Usage estimated', r.usage_estimated ? 'yes — the provider sent no usage' : 'no'],
    ['Cost', 'cost_usd' in r ? fmt.usd(r.cost_usd) : h('span', { class: 'muted' }, 'needs cost tracking (Enterprise)')],
    ['Unpriced', r.unpriced ? 'yes — the model has no price' : 'no'],
    ['Latency', ms(r.latency_ms)],
    ['Time to first token', ms(r.ttft_ms)],
    ['API key', r.key_id ? `${names.keys.get(r.key_id) || `${r.key_prefix || '?'}…`} (${r.key_id})` : orNone(null)],
    ['App', named(names.apps, r.app_id)],
    ['Team', named(names.teams, r.team_id)],
    ['Environment', orNone(r.env)],
    ['Session ID', orNone(r.session_id)],
    ['End user', orNone(r.end_user)],
    ['Cache', orNone(r.cache)],
    ['Translated', orNone(r.translated)],
    ['Guardrails', guardrailList(r.guardrails)],
    ['Metadata', r.metadata ? h('pre', { class: 'ins-pre' }, JSON.stringify(r.metadata, null, 2)) : orNone(null)],
  ];
  for (const [key, value] of Object.entries(r)) {
    if (KNOWN.includes(key)) continue;
    pairs.push([key, typeof value === 'object' && value !== null
      ? h('pre', { class: 'ins-pre' }, JSON.stringify(value, null, 2)) : orNone(value)]);
  }
  const hasBodies = 'request_body' in r || 'response_body' in r;
  // Focused first, so the dialog opens at its top rather than at Close.
  return h('div', { class: 'ins-detail', tabindex: '-1', autofocus: true },
    ui.details(pairs),
    h('h3', null, 'Request body'),
    'request_body' in r ? h('pre', { class: 'ins-pre' }, bodyText(r.request_body)) : null,
    h('h3', null, 'Response body'),
    'response_body' in r ? h('pre', { class: 'ins-pre' }, bodyText(r.response_body)) : null,
    hasBodies ? null : h('p', { class: 'muted' },
      'No bodies: they are recorded only while the organization logs bodies (an admin turns it on under Settings and plan), '
      + 'and shown only while it still does.'));
}

function openDetails(r, names) {
  const view = detailView(r, names);
  const closed = ui.openDialog('Request details', (close) => [
    view,
    h('div', { class: 'dialog-actions' }, ui.button('Close', () => close(), { variant: 'primary' })),
  ], { wide: true });
  // Open at the top, title in sight, whatever took the focus.
  const dialog = view.closest('dialog');
  if (dialog) dialog.scrollTop = 0;
  return closed;
}

export default {
  path: '/ui/logs',
  title: 'Logs',
  async render(ctx) {
    const { session, params } = ctx;
    const header = ui.pageHeader('Logs', 'Every request through the gateway, newest first.');
    if (!session.entitled('logging')) {
      return h('div', null, header, ui.section(null, ui.planRequired('logging', 'Request logging')));
    }
    if (!session.can('logs:read')) {
      return h('div', null, header, ui.section(null,
        ui.emptyState('Your role cannot read request logs.', 'Ask an admin of this organization for access.')));
    }

    const current = {};
    for (const k of FILTERS) if (params.get(k)) current[k] = params.get(k);
    const filtered = Object.keys(current).length > 0;
    const hasCost = session.entitled('cost_tracking');

    const names = lookups();
    const providers = get('/api/v1/providers').then((a) => a.providers || []).catch(() => []);

    // Selects start with "Any" and the value in the address, then get names.
    const select = (name, label) => ui.field({
      name, label, type: 'select', value: current[name] || '',
      options: [['', 'Any'], ...(current[name] ? [[current[name], current[name]]] : [])],
    });
    const fields = {
      provider: select('provider', 'Provider'),
      model: ui.field({ name: 'model', label: 'Model', value: current.model || '', placeholder: 'gpt-4o-mini' }),
      status: ui.field({ name: 'status', label: 'Status', type: 'number', value: current.status || '', min: 100, max: 599, placeholder: '429' }),
      app_id: select('app_id', 'App'),
      team_id: select('team_id', 'Team'),
      key_id: select('key_id', 'API key'),
      session_id: ui.field({ name: 'session_id', label: 'Session ID', value: current.session_id || '' }),
      from: ui.field({ name: 'from', label: 'From', type: 'datetime-local', value: fmt.localInput(current.from) }),
      to: ui.field({ name: 'to', label: 'To', type: 'datetime-local', value: fmt.localInput(current.to) }),
    };
    const setOptions = (f, options) => {
      const control = f.control;
      const value = current[control.name] || '';
      const known = options.some(([v]) => v === value);
      replace(control,
        h('option', { value: '' }, 'Any'),
        !known && value ? h('option', { value }, `${value} (unknown)`) : null,
        options.map(([v, l]) => h('option', { value: v }, l)));
      control.value = value;
    };
    names.then((n) => {
      setOptions(fields.app_id, n.appList.map((a) => [a.id, a.name]));
      setOptions(fields.team_id, n.teamList.map((t) => [t.id, t.name]));
      setOptions(fields.key_id, n.keyList.map((k) => [k.id, `${k.name} (${k.key_prefix}…)`]));
    }).catch(() => {});
    providers.then((list) => setOptions(fields.provider, list.map((p) => [p.name, p.name])));

    const form = h('form', { class: 'ins-filters', 'aria-label': 'Log filters', novalidate: true },
      Object.values(fields),
      h('div', { class: 'ins-filter-actions' },
        ui.button('Apply filters', null, { type: 'submit', variant: 'primary' }),
        filtered ? ui.button('Clear filters', () => ctx.navigate('/ui/logs')) : null));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      ui.clearErrors(form);
      const v = ui.formValues(form);
      const q = new URLSearchParams();
      for (const k of FILTERS) {
        let value = v[k];
        if (k === 'from' || k === 'to') value = fmt.utcFromLocalInput(value);
        if (value !== null && value !== undefined && value !== '') q.set(k, String(value).trim());
      }
      if (q.has('status') && !/^[1-5]\d\d$/.test(q.get('status'))) {
        ui.fieldError(form, 'status', 'An HTTP status: a number from 100 to 599.');
        return;
      }
      if (q.has('from') && q.has('to') && q.get('from') > q.get('to')) {
        ui.fieldError(form, 'to', 'The end comes before the start.');
        return;
      }
      const s = q.toString();
      ctx.navigate(`/ui/logs${s ? `?${s}` : ''}`);
    });

    const results = h('div', { class: 'ins-table-slot ins-logs-slot' });
    const columns = (n) => [
      { key: 'created_at', label: 'Time', render: (r) => logTime(r.created_at) },
      { key: 'status', label: 'Status', render: statusCell },
      { key: 'provider', label: 'Provider' },
      {
        key: 'model', label: 'Model',
        render: (r) => h('span', { class: 'ins-nowrap' }, r.requested_model ? `${r.model} (${r.requested_model})` : r.model),
      },
      { key: 'tokens', label: 'Tokens in / out', align: 'right', render: (r) => `${fmt.count(r.tokens_in)} / ${fmt.count(r.tokens_out)}${r.usage_estimated ? ' (est.)' : ''}` },
      hasCost ? { key: 'cost_usd', label: 'Cost', align: 'right', render: (r) => ('cost_usd' in r ? fmt.usd(r.cost_usd) : '—') } : null,
      { key: 'latency_ms', label: 'Latency', align: 'right', render: (r) => `${fmt.count(r.latency_ms)} ms` },
      {
        key: 'key', label: 'Key / app',
        render: (r) => h('span', { class: 'ins-key-app' },
          r.key_prefix ? h('code', null, `${r.key_prefix}…`) : h('span', { class: 'muted' }, 'no key'),
          r.app_id ? h('span', { class: 'muted' }, ` · ${n.apps.get(r.app_id) || 'app'}`) : null),
      },
      {
        key: 'details', label: 'Details',
        render: (r) => ui.button('Details', () => openDetails(r, n), { class: 'btn small', 'aria-label': `Details ${r.request_id}` }),
      },
    ].filter(Boolean);

    const emptyNode = filtered
      ? ui.emptyState('No requests match these filters.', 'Widen the time range or clear a filter.',
        ui.button('Clear filters', () => ctx.navigate('/ui/logs')))
      : ui.emptyState('No requests logged yet.',
        'Calls through the gateway (/v1/chat/completions with an API key in X-Gatehouse-Key) appear here within a second.',
        h('p', { class: 'ins-links' }, h('a', { href: '/ui/providers' }, 'Add a provider'), ' · ', h('a', { href: '/ui/keys' }, 'Create an API key')));

    ui.fill(results, async () => {
      const [first, n] = await Promise.all([get('/api/v1/logs', { ...current, limit: PAGE }), names]);
      const node = ui.table({
        columns: columns(n), rows: first.logs, caption: 'Request logs, newest first', empty: emptyNode,
      });
      if (!first.logs.length) return node;
      let cursor = first.next_cursor;
      const tbody = node.querySelector('tbody');
      const status = h('p', { class: 'muted ins-count', role: 'status' }, `${fmt.count(first.logs.length)} requests shown`);
      let shown = first.logs.length;
      const more = ui.moreButton(async () => {
        more.disabled = true;
        try {
          const page = await get('/api/v1/logs', { ...current, limit: PAGE, cursor });
          const extra = ui.table({ columns: columns(n), rows: page.logs, caption: '' });
          const newRows = extra.querySelector ? extra.querySelector('tbody') : null;
          if (newRows) tbody.append(...newRows.children);
          shown += page.logs.length;
          status.textContent = `${fmt.count(shown)} requests shown`;
          cursor = page.next_cursor;
          if (!cursor) {
            more.remove();
            status.textContent += ' — that is all';
          }
        } catch (err) {
          ui.notify(err.message, 'error');
        } finally {
          more.disabled = false;
        }
      });
      return h('div', null, node, h('div', { class: 'ins-more-row' }, cursor ? more : null, status));
    }, { lines: 10 });

    return h('div', null, header, ui.section('Filters', form), ui.section('Requests', results));
  },
};
