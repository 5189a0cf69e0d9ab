// The audit log: every change in the organization, who made it, from
// where, and the record before and after (secrets never included).

import { h, replace } from '../dom.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';
import { get } from '../api.js';

const PAGE = 50;
const FILTERS = ['action', 'actor_id', 'target_type', 'from', 'to'];

const ACTIONS = [
  'org.create', 'org.update', 'org.plan', 'member.invite', 'member.accept', 'member.update',
  'member.suspend', 'member.reactivate', 'member.resend_invite', 'member.delete', 'team.create',
  'team.update', 'team.delete', 'app.create', 'app.update', 'app.delete', 'key.create', 'key.rotate',
  'key.revoke', 'provider.create', 'provider.update', 'provider.delete', 'provider.default',
  'pricing.update', 'aliases.update', 'guardrails.update', 'cache.delete', 'webhook.create',
  'webhook.delete', 'webhook.test',
];
const TARGETS = [
  ['org', 'Organization'], ['user', 'Member'], ['team', 'Team'], ['app', 'App'],
  ['api_key', 'API key'], ['provider', 'Provider'], ['webhook', 'Webhook'],
];

function actorName(e, users) {
  if (e.actor_type === 'operator') return 'Operator';
  if (e.actor_type === 'user') {
    const u = users.get(e.actor_id);
    return u ? `${u.name} (${u.email})` : `user ${String(e.actor_id || '').slice(0, 8)}…`;
  }
  return `${e.actor_type}${e.actor_id ? ` ${e.actor_id}` : ''}`;
}

/** "Team Research", "API key ci-key (sk-gate-1234…)". */
function targetName(e) {
  const kind = (TARGETS.find(([v]) => v === e.target_type) || [null, e.target_type || '—'])[1];
  const rec = e.after || e.before || {};
  const label = rec.name || rec.email || rec.default_provider || null;
  const prefix = rec.key_prefix ? ` (${rec.key_prefix}…)` : '';
  if (label) return `${kind} ${label}${prefix}`;
  return e.target_id ? `${kind} ${String(e.target_id).slice(0, 8)}…` : kind;
}

function json(value) {
  if (value === null || value === undefined) return h('p', { class: 'muted' }, 'nothing');
  return h('pre', { class: 'ins-pre' }, JSON.stringify(value, null, 2));
}

function entryDetail(e) {
  return h('div', { class: 'ins-audit-detail' },
    ui.details([
      ['Time (UTC)', fmt.utc(e.created_at)],
      ['Actor', `${e.actor_type}${e.actor_id ? ` ${e.actor_id}` : ''}`],
      ['Target', `${e.target_type || '—'} ${e.target_id || ''}`],
      ['Entry ID', e.id],
    ]),
    h('div', { class: 'ins-before-after' },
      h('div', null, h('h3', null, 'Before'), json(e.before)),
      h('div', null, h('h3', null, 'After'), json(e.after))));
}

export default {
  path: '/ui/audit',
  title: 'Audit log',
  async render(ctx) {
    const { session, params } = ctx;
    const header = ui.pageHeader('Audit log',
      'Every change in this organization: who, what, from which address, and the record before and after.');
    if (!session.entitled('audit_log')) {
      return h('div', null, header, ui.section(null, ui.planRequired('audit_log', 'The audit log')));
    }
    if (!session.can('audit:read')) {
      return h('div', null, header, ui.section(null, ui.emptyState(
        'Only admins and owners can read the audit log.',
        'It records the organization\'s changes with the records before and after them; ask an admin if you need an entry.')));
    }

    const current = {};
    for (const k of FILTERS) if (params.get(k)) current[k] = params.get(k);
    const filtered = Object.keys(current).length > 0;
    const users = get('/api/v1/users').then((a) => new Map((a.users || []).map((u) => [u.id, u])))
      .catch(() => new Map());

    const actorField = ui.field({
      name: 'actor_id', label: 'Actor', type: 'select', value: current.actor_id || '',
      options: [['', 'Anyone'], ...(current.actor_id ? [[current.actor_id, current.actor_id]] : [])],
    });
    users.then((map) => {
      const value = current.actor_id || '';
      replace(actorField.control, h('option', { value: '' }, 'Anyone'),
        value && !map.has(value) ? h('option', { value }, value) : null,
        [...map.values()].map((u) => h('option', { value: u.id }, `${u.name} (${u.email})`)));
      actorField.control.value = value;
    });
    const form = h('form', { class: 'ins-filters', 'aria-label': 'Audit filters', novalidate: true },
      ui.field({
        name: 'action', label: 'Action', type: 'select', value: current.action || '',
        options: [['', 'Any'], ...(current.action && !ACTIONS.includes(current.action) ? [[current.action, current.action]] : []),
          ...ACTIONS.map((a) => [a, a])],
      }),
      actorField,
      ui.field({ name: 'target_type', label: 'Target', type: 'select', value: current.target_type || '', options: [['', 'Any'], ...TARGETS] }),
      ui.field({ name: 'from', label: 'From', type: 'datetime-local', value: fmt.localInput(current.from) }),
      ui.field({ name: 'to', label: 'To', type: 'datetime-local', value: fmt.localInput(current.to) }),
      h('div', { class: 'ins-filter-actions' },
        ui.button('Apply filters', null, { type: 'submit', variant: 'primary' }),
        filtered ? ui.button('Clear filters', () => ctx.navigate('/ui/audit')) : null));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = ui.formValues(form);
      const q = new URLSearchParams();
      for (const k of FILTERS) {
        const value = k === 'from' || k === 'to' ? fmt.utcFromLocalInput(v[k]) : v[k];
        if (value) q.set(k, value);
      }
      const s = q.toString();
      ctx.navigate(`/ui/audit${s ? `?${s}` : ''}`);
    });

    const results = h('div', { class: 'ins-table-slot ins-logs-slot' });
    const columns = (u) => [
      { key: 'created_at', label: 'Time', render: (e) => ui.time(e.created_at) },
      { key: 'actor', label: 'Actor', render: (e) => actorName(e, u) },
      { key: 'action', label: 'Action', render: (e) => h('code', null, e.action) },
      { key: 'target', label: 'Target', render: targetName },
      { key: 'ip', label: 'IP', render: (e) => e.ip || h('span', { class: 'muted' }, '—') },
    ];
    const tableOf = (entries, u) => ui.table({
      columns: columns(u), rows: entries, caption: 'Audit log entries, newest first',
      expand: entryDetail, rowLabel: (e) => `${e.action} at ${fmt.dateTime(e.created_at)}`,
      empty: filtered
        ? ui.emptyState('No entries match these filters.', 'Widen the time range or clear a filter.')
        : ui.emptyState('No changes recorded yet.', 'Changes to members, keys, providers and settings appear here.'),
    });
    ui.fill(results, async () => {
      const [first, u] = await Promise.all([get('/api/v1/audit', { ...current, limit: PAGE }), users]);
      const node = tableOf(first.entries, u);
      if (!first.entries.length) return node;
      let cursor = first.next_cursor;
      const tbody = node.querySelector('tbody');
      const more = ui.moreButton(async () => {
        more.disabled = true;
        try {
          const page = await get('/api/v1/audit', { ...current, limit: PAGE, cursor });
          const extra = tableOf(page.entries, u);
          const rows = extra.querySelector ? extra.querySelector('tbody') : null;
          if (rows) tbody.append(...rows.children);
          cursor = page.next_cursor;
          if (!cursor) more.remove();
        } catch (err) {
          ui.notify(err.message, 'error');
        } finally {
          more.disabled = false;
        }
      });
      return h('div', null, node, cursor ? h('div', { class: 'ins-more-row' }, more) : null);
    }, { lines: 10 });

    return h('div', null, header, ui.section('Filters', form), ui.section('Entries', results));
  },
};
