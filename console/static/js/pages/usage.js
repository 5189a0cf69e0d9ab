// Usage: requests, tokens and cost of a date range, grouped by day, app,
// team, key, model or provider, as a table with totals and a bar chart.

import { h, replace } from '../dom.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';
import { get } from '../api.js';
import { barChart } from '../chart.js';

const GROUPS = [
  ['day', 'Day'], ['app', 'App'], ['team', 'Team'],
  ['key', 'API key'], ['model', 'Model'], ['provider', 'Provider'],
];

/** `YYYY-MM-DD` of a Date in UTC. */
export function utcDate(d) {
  return d.toISOString().slice(0, 10);
}

/** "Dec 5" for a UTC day `YYYY-MM-DD`. */
export function dayLabel(isoDay) {
  const d = new Date(`${isoDay}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return isoDay;
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/**
 * Every UTC day from `from` up to (not including) `to`, each with the row of
 * `rows` (grouped by day) for it, or zeros: a chart shows quiet days too.
 * At most `max` days, the latest ones.
 */
export function everyDay(rows, from, to, max = 93) {
  const byDay = new Map(rows.map((r) => [r.group, r]));
  const out = [];
  const start = new Date(`${utcDate(new Date(from))}T00:00:00Z`);
  const end = new Date(to);
  for (let d = start; d < end && out.length < 400; d = new Date(d.getTime() + 86400000)) {
    const key = utcDate(d);
    out.push(byDay.get(key) || { group: key, requests: 0, tokens_in: 0, tokens_out: 0, unpriced_requests: 0, cost_usd: 0 });
  }
  return out.slice(-max);
}

async function list(path, field) {
  try {
    const answer = await get(path);
    return answer[field] || [];
  } catch {
    return []; // a role that may not list them sees ids instead of names
  }
}

/**
 * Names of the org's apps, teams and keys by id (what the caller may see):
 * `{apps: Map, teams: Map, keys: Map, appList, teamList, keyList}`.
 */
export async function lookups() {
  const [apps, teams, keys] = await Promise.all([
    list('/api/v1/apps', 'apps'), list('/api/v1/teams', 'teams'), list('/api/v1/keys', 'keys'),
  ]);
  return {
    apps: new Map(apps.map((a) => [a.id, a.name])),
    teams: new Map(teams.map((t) => [t.id, t.name])),
    keys: new Map(keys.map((k) => [k.id, `${k.name} (${k.key_prefix}…)`])),
    appList: apps, teamList: teams, keyList: keys,
  };
}

/** The readable name of a usage group. */
export function groupName(groupBy, group, names) {
  if (group === null || group === undefined || group === '') return '(none)';
  if (groupBy === 'day') return fmt.day(`${group}T00:00:00Z`);
  const map = { app: names.apps, team: names.teams, key: names.keys }[groupBy];
  if (!map) return String(group);
  return map.get(group) || `${String(group).slice(0, 8)}… (deleted or not visible)`;
}

/** A query value `YYYY-MM-DD`, or null. */
function dateParam(value) {
  return /^\d{4}-\d{2}-\d{2}$/.test(value || '') ? value : null;
}

function addDays(isoDay, n) {
  return utcDate(new Date(new Date(`${isoDay}T00:00:00Z`).getTime() + n * 86400000));
}

function chartSlot() {
  return h('div', { class: 'ins-chart-slot' });
}

function tableWithTotals(groupBy, answer, names, hasCost) {
  const label = GROUPS.find(([v]) => v === groupBy)[1];
  const columns = [
    { key: 'group', label, render: (r) => groupName(groupBy, r.group, names) },
    { key: 'requests', label: 'Requests', align: 'right', render: (r) => fmt.count(r.requests) },
    { key: 'tokens_in', label: 'Tokens in', align: 'right', render: (r) => fmt.count(r.tokens_in) },
    { key: 'tokens_out', label: 'Tokens out', align: 'right', render: (r) => fmt.count(r.tokens_out) },
  ];
  if (hasCost) columns.push({ key: 'cost_usd', label: 'Cost', align: 'right', render: (r) => fmt.usd(r.cost_usd) });
  columns.push({ key: 'unpriced_requests', label: 'Unpriced requests', align: 'right', render: (r) => fmt.count(r.unpriced_requests) });
  const rows = answer.usage;
  const node = ui.table({
    columns, rows, caption: `Usage by ${label.toLowerCase()}`,
    empty: ui.emptyState('No requests in this range.',
      'Pick another range, or send requests through the gateway (/v1/chat/completions with an API key).',
      h('p', { class: 'ins-links' },
        h('a', { href: '/ui/providers' }, 'Add a provider'), ' · ', h('a', { href: '/ui/keys' }, 'Create an API key'))),
  });
  const table = node.querySelector && node.querySelector('table');
  if (table) {
    const t = answer.totals || {};
    const unpriced = rows.reduce((s, r) => s + (Number(r.unpriced_requests) || 0), 0);
    const cells = [
      h('td', { class: 'ins-total-label', 'data-label': label }, 'Total'),
      h('td', { class: 'num', 'data-label': 'Requests' }, fmt.count(t.requests)),
      h('td', { class: 'num', 'data-label': 'Tokens in' }, fmt.count(t.tokens_in)),
      h('td', { class: 'num', 'data-label': 'Tokens out' }, fmt.count(t.tokens_out)),
      hasCost ? h('td', { class: 'num', 'data-label': 'Cost' }, fmt.usd(t.cost_usd)) : null,
      h('td', { class: 'num', 'data-label': 'Unpriced requests' }, fmt.count(unpriced)),
    ];
    table.append(h('tfoot', { class: 'ins-totals' }, h('tr', null, cells)));
  }
  return node;
}

export default {
  path: '/ui/usage',
  title: 'Usage',
  async render(ctx) {
    const { session, params } = ctx;
    const header = ui.pageHeader('Usage', 'Requests, tokens and cost over a range of UTC days.');
    if (!session.can('usage:read')) {
      return h('div', null, header, ui.section(null,
        ui.emptyState('Your role cannot read usage.', 'Ask an admin of this organization for access.')));
    }
    const groupBy = GROUPS.some(([v]) => v === params.get('group_by')) ? params.get('group_by') : 'day';
    const today = utcDate(new Date());
    const from = dateParam(params.get('from')) || utcDate(new Date(fmt.monthStart()));
    const to = dateParam(params.get('to')) || today;
    const hasCost = session.entitled('cost_tracking');

    const form = h('form', { class: 'toolbar', 'aria-label': 'Usage range and grouping' },
      ui.field({ name: 'group_by', label: 'Group by', type: 'select', options: GROUPS, value: groupBy }),
      ui.field({ name: 'from', label: 'From (UTC day)', type: 'date', value: from }),
      ui.field({ name: 'to', label: 'To (UTC day, included)', type: 'date', value: to }),
      ui.button('Apply', null, { type: 'submit', variant: 'primary' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = ui.formValues(form);
      ui.clearErrors(form);
      if (v.from && v.to && v.from > v.to) {
        ui.fieldError(form, 'to', 'The last day comes before the first.');
        return;
      }
      const q = new URLSearchParams();
      if (v.group_by !== 'day') q.set('group_by', v.group_by);
      if (v.from) q.set('from', v.from);
      if (v.to) q.set('to', v.to);
      const s = q.toString();
      ctx.navigate(`/ui/usage${s ? `?${s}` : ''}`, { replace: true });
    });

    const requestsChart = chartSlot();
    const costChart = chartSlot();
    const tableBox = h('div', { class: 'ins-table-slot' });
    const answer = Promise.all([
      get('/api/v1/usage', {
        group_by: groupBy, from: `${from}T00:00:00Z`, to: `${addDays(to, 1)}T00:00:00Z`,
      }),
      ['app', 'team', 'key'].includes(groupBy) ? lookups() : Promise.resolve({}),
    ]);
    answer.catch(() => {}); // each section shows the error itself

    const points = async (field) => {
      const [a, names] = await answer;
      const rows = groupBy === 'day'
        ? everyDay(a.usage, a.from, a.to)
        : [...a.usage].sort((x, y) => (y[field] || 0) - (x[field] || 0)).slice(0, 20);
      return rows.map((r) => ({
        label: groupBy === 'day' ? dayLabel(r.group) : groupName(groupBy, r.group, names),
        value: r[field] || 0,
      }));
    };
    ui.fill(requestsChart, async () => barChart(await points('requests'),
      { label: `Requests by ${groupBy === 'key' ? 'key' : groupBy}`, format: fmt.count }), { lines: 6 });
    if (hasCost) {
      ui.fill(costChart, async () => barChart(await points('cost_usd'),
        { label: `Cost by ${groupBy === 'key' ? 'key' : groupBy}`, format: fmt.usd }), { lines: 6 });
    } else {
      replace(costChart, h('div', { class: 'plan-required ins-chart-note', role: 'note' },
        h('p', { class: 'empty-title' }, 'Cost tracking needs the Enterprise plan'),
        h('p', { class: 'muted' }, 'On the free plan Gatehouse counts requests and tokens; '
          + 'prices and spend come with the cost_tracking feature.')));
    }
    ui.fill(tableBox, async () => {
      const [a, names] = await answer;
      return tableWithTotals(groupBy, a, names, 'cost_usd' in (a.totals || {}));
    }, { lines: 6 });

    return h('div', null, header,
      ui.section(null, form),
      h('div', { class: 'ins-chart-grid' },
        ui.section('Requests', requestsChart),
        ui.section('Cost', costChart)),
      ui.section('Breakdown', tableBox));
  },
};
