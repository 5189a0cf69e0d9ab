// Overview: this UTC month at a glance — requests, tokens, cost, daily
// charts, the busiest models and keys.

import { h, replace } from '../dom.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';
import { get } from '../api.js';
import { barChart } from '../chart.js';
import { everyDay, dayLabel, lookups, groupName } from './usage.js';

const TOP = 5;

function top(rows) {
  return [...rows].sort((a, b) => (b.requests || 0) - (a.requests || 0)).slice(0, TOP);
}

function firstSteps() {
  return ui.emptyState(
    'No requests yet — create a provider and a key, then call /v1/chat/completions',
    'Send requests with the key in the X-Gatehouse-Key header; their requests, tokens and cost appear here.',
    h('p', { class: 'ins-links' },
      h('a', { href: '/ui/providers' }, 'Add a provider'), ' · ',
      h('a', { href: '/ui/keys' }, 'Create an API key')));
}

function topTable(rows, { what, groupBy, names, hasCost }) {
  const columns = [
    { key: 'group', label: what, render: (r) => groupName(groupBy, r.group, names) },
    { key: 'requests', label: 'Requests', align: 'right', render: (r) => fmt.count(r.requests) },
    { key: 'tokens', label: 'Tokens', align: 'right', render: (r) => fmt.count((r.tokens_in || 0) + (r.tokens_out || 0)) },
  ];
  if (hasCost) columns.push({ key: 'cost_usd', label: 'Cost', align: 'right', render: (r) => fmt.usd(r.cost_usd) });
  return ui.table({
    columns, rows: top(rows), caption: `Top ${what.toLowerCase()}s this month by requests`,
    empty: ui.emptyState('No requests this month.'),
  });
}

export default {
  path: '/ui/overview',
  title: 'Overview',
  async render(ctx) {
    const { session } = ctx;
    const me = session.current();
    const header = ui.pageHeader('Overview',
      `${me && me.org ? me.org.name : 'This organization'} this month (UTC, since ${fmt.day(fmt.monthStart())}).`);
    if (!session.can('usage:read')) {
      return h('div', null, header, ui.section(null,
        ui.emptyState('Your role cannot read usage.', 'Ask an admin of this organization for access.')));
    }

    const month = {
      day: get('/api/v1/usage', { group_by: 'day' }),
      model: get('/api/v1/usage', { group_by: 'model' }),
      key: get('/api/v1/usage', { group_by: 'key' }),
      names: lookups(),
    };
    for (const p of Object.values(month)) p.catch(() => {});

    const cardsBox = h('div', { class: 'ins-cards-slot' });
    const requestsChart = h('div', { class: 'ins-chart-slot' });
    const costChart = h('div', { class: 'ins-chart-slot' });
    const models = h('div', { class: 'ins-top-slot' });
    const keys = h('div', { class: 'ins-top-slot' });
    const body = h('div', null,
      cardsBox,
      h('div', { class: 'ins-chart-grid' },
        ui.section('Requests per day', requestsChart),
        ui.section('Cost per day', costChart)),
      h('div', { class: 'ins-chart-grid' },
        ui.section('Top models', models, h('p', null, h('a', { href: '/ui/usage?group_by=model' }, 'Usage by model'))),
        ui.section('Top keys', keys, h('p', null, h('a', { href: '/ui/usage?group_by=key' }, 'Usage by key')))));

    ui.fill(cardsBox, async () => {
      const answer = await month.day;
      const t = answer.totals || {};
      if (!t.requests) {
        // A new org (or a quiet month): say what to do instead of zeros.
        replace(body, ui.section(null, firstSteps()));
        return h('div');
      }
      const cost = 'cost_usd' in t
        ? { label: 'Cost', value: fmt.usd(t.cost_usd), hint: 'This month, at the org\'s prices' }
        : { label: 'Cost', value: '—', hint: 'Cost tracking needs the Enterprise plan' };
      return ui.cards([
        { label: 'Requests', value: fmt.count(t.requests), hint: 'This month' },
        {
          label: 'Tokens (in + out)', value: fmt.count((t.tokens_in || 0) + (t.tokens_out || 0)),
          hint: `${fmt.count(t.tokens_in)} in · ${fmt.count(t.tokens_out)} out`,
        },
        cost,
      ]);
    }, { lines: 2 });

    const days = async () => {
      const a = await month.day;
      return everyDay(a.usage, a.from, new Date(Math.min(Date.parse(a.to), Date.now())).toISOString());
    };
    ui.fill(requestsChart, async () => barChart(
      (await days()).map((r) => ({ label: dayLabel(r.group), value: r.requests })),
      { label: 'Requests per day', format: fmt.count }), { lines: 6 });
    ui.fill(costChart, async () => {
      const a = await month.day;
      if (!('cost_usd' in (a.totals || {}))) {
        return h('div', { class: 'plan-required ins-chart-note', role: 'note' },
          h('p', { class: 'empty-title' }, 'Cost tracking needs the Enterprise plan'),
          h('p', { class: 'muted' }, 'Requests and tokens are counted on every plan; spend per day, '
            + 'team budgets and price overrides come with Enterprise.'));
      }
      return barChart((await days()).map((r) => ({ label: dayLabel(r.group), value: r.cost_usd || 0 })),
        { label: 'Cost per day', format: fmt.usd });
    }, { lines: 6 });
    ui.fill(models, async () => {
      const a = await month.model;
      return topTable(a.usage, { what: 'Model', groupBy: 'model', names: {}, hasCost: 'cost_usd' in (a.totals || {}) });
    }, { lines: 5 });
    ui.fill(keys, async () => {
      const [a, names] = await Promise.all([month.key, month.names]);
      return topTable(a.usage, { what: 'Key', groupBy: 'key', names, hasCost: 'cost_usd' in (a.totals || {}) });
    }, { lines: 5 });

    return h('div', null, header, body);
  },
};
