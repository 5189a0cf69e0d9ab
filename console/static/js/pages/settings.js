// Settings and plan: the organization's name and log settings (admins),
// the plan with every feature and limit (everyone), and how a plan changes.

import { h, replace } from '../dom.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';
import { get, put, del, loadProfile } from '../api.js';

/** Readable names of the plan features, in the order shown. */
const FEATURES = [
  ['proxy', 'Gateway proxy (/v1/…)'],
  ['streaming', 'Streaming answers'],
  ['logging', 'Request logging'],
  ['usage_analytics', 'Usage analytics'],
  ['sessions', 'Session and end-user tracking'],
  ['prompts', 'Prompt registry'],
  ['evals', 'Evaluations'],
  ['datasets', 'Datasets'],
  ['playground', 'Playground'],
  ['provider_auto_detection', 'Provider auto-detection'],
  ['provider_fallback', 'Provider fallback chains'],
  ['format_translation', 'Format translation (OpenAI ⇄ Anthropic)'],
  ['guardrails', 'Guardrails'],
  ['pii_redaction', 'PII redaction'],
  ['caching', 'Response cache'],
  ['webhooks', 'Webhooks'],
  ['audit_log', 'Audit log'],
  ['budget_controls', 'Team budgets'],
  ['cost_tracking', 'Cost tracking and price overrides'],
  ['prometheus_metrics', 'Prometheus metrics per organization'],
  ['per_key_rate_limits', 'Per-key rate limits'],
  ['byos', 'Bring your own storage'],
  ['priority_support', 'Priority support'],
  ['custom_sla', 'Custom SLA'],
];

function planName(plan) {
  return plan ? plan.charAt(0).toUpperCase() + plan.slice(1) : '—';
}

function retention(days) {
  return days === null || days === undefined ? 'Kept forever' : `${fmt.count(days)} days`;
}

function featureTable(ents) {
  const map = ents.entitlements || {};
  const known = new Set(FEATURES.map(([k]) => k));
  const rows = [
    ...FEATURES.filter(([k]) => k in map),
    ...Object.keys(map).filter((k) => !known.has(k)).map((k) => [k, k.replace(/_/g, ' ')]),
  ].map(([key, label]) => ({ key, label, on: Boolean(map[key]) }));
  return ui.table({
    caption: `Features of the ${planName(ents.plan)} plan`,
    columns: [
      { key: 'label', label: 'Feature', render: (r) => h('span', null, r.label, ' ', h('code', { class: 'muted' }, r.key)) },
      {
        key: 'on', label: 'In this plan',
        render: (r) => (r.on ? ui.badge('Included', 'green') : ui.badge('Not included', 'grey')),
      },
    ],
    rows,
  });
}

function limitList(ents) {
  const l = ents.limits || {};
  return ui.details([
    ['Plan', h('strong', null, planName(ents.plan))],
    ['Providers', l.max_providers === null || l.max_providers === undefined ? 'Unlimited' : `up to ${fmt.count(l.max_providers)}`],
    ['Active API keys', l.max_api_keys === null || l.max_api_keys === undefined ? 'Unlimited' : `up to ${fmt.count(l.max_api_keys)}`],
    ['Log retention', retention(l.log_retention_days)],
  ]);
}

function planChange(slug, plan) {
  const target = plan === 'enterprise' ? 'free' : 'enterprise';
  return h('div', { class: 'ins-prose' },
    h('p', null, 'The plan is set by the operator of this Gatehouse installation, not from the console. '
      + 'On a machine of the installation (with the node\'s configuration), run:'),
    h('pre', { class: 'ins-pre' }, `gatehouse admin set-plan ${slug || '<org-slug>'} ${target}`),
    h('p', null, 'or, with the operator token, call PUT /api/v1/admin/orgs/<org-id>/plan with {"plan": "',
      target, '"}. The change applies at once on every node: features become available (or answer '
      + '403 plan_required), and the retention sweeper uses the new plan\'s log retention.'),
    plan === 'enterprise'
      ? h('p', { class: 'muted' }, 'Back on the free plan, logs older than 7 days are deleted and enterprise settings '
        + '(team budgets, guardrails, cache, webhooks, price overrides) stop applying.')
      : h('p', { class: 'muted' }, 'Enterprise includes every feature, unlimited providers, 100 API keys and a log '
        + 'retention the organization chooses (90 days by default, or forever).'));
}

function orgForm(org, enterprise, onSaved) {
  const s = org.settings || {};
  const form = h('form', { class: 'form ins-org-form', novalidate: true, 'aria-label': 'Organization settings' },
    h('p', { class: 'form-error', role: 'alert', tabindex: '-1' }),
    ui.field({ name: 'name', label: 'Name', value: org.name, required: true, autocomplete: 'organization' }),
    ui.field({
      name: 'log_bodies', label: 'Log request and response bodies', type: 'checkbox', value: Boolean(s.log_bodies),
      hint: 'Up to 256 KiB of each body is stored with the request log and shown in Logs. Bodies can hold personal data.',
    }),
    ui.field({
      name: 'log_retention_days', label: 'Log retention (days)', type: 'number', min: 1, max: 3650, step: 1,
      value: enterprise ? (s.log_retention_days ?? '') : (s.log_retention_days ?? 7),
      disabled: !enterprise,
      hint: enterprise
        ? '1 to 3650 days; leave empty to keep request logs forever.'
        : 'The free plan keeps request logs for 7 days; a custom retention needs the Enterprise plan.',
    }),
    h('div', { class: 'ins-filter-actions' }, ui.button('Save', null, { type: 'submit', variant: 'primary' })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    ui.clearErrors(form);
    const v = ui.formValues(form);
    if (!v.name.trim()) {
      ui.fieldError(form, 'name', 'The organization needs a name.');
      return;
    }
    const settings = { log_bodies: v.log_bodies };
    if (enterprise) {
      if (v.log_retention_days !== null && !(Number.isInteger(v.log_retention_days)
        && v.log_retention_days >= 1 && v.log_retention_days <= 3650)) {
        ui.fieldError(form, 'log_retention_days', 'A whole number of days from 1 to 3650, or empty to keep logs forever.');
        return;
      }
      settings.log_retention_days = v.log_retention_days;
    }
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const saved = await put('/api/v1/org', { name: v.name.trim(), settings });
      ui.notify('Settings saved');
      onSaved(saved);
    } catch (err) {
      ui.showError(form, err, {
        'settings.log_bodies': 'log_bodies', 'settings.log_retention_days': 'log_retention_days', settings: 'log_bodies',
      });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function orgDetails(org) {
  const s = org.settings || {};
  return ui.details([
    ['Name', org.name],
    ['Slug', h('code', null, org.slug)],
    ['ID', h('code', null, org.id)],
    ['Plan', planName(org.plan)],
    ['Created', ui.time(org.created_at)],
    ['Request bodies', s.log_bodies ? 'Logged' : 'Not logged'],
    ['Log retention', retention(s.log_retention_days)],
  ]);
}

/** The response cache: how requests use it and, for admins, emptying it. */
function cacheSection(session) {
  if (!session.entitled('caching')) {
    return ui.section('Response cache',
      h('p', { class: 'muted' }, 'The response cache needs the Enterprise plan: this organization\'s plan does not '
        + 'include “caching”, so requests that ask for it get 403 plan_required.'));
  }
  const prose = h('div', { class: 'ins-prose' },
    h('p', null, 'A request with the header ', h('code', null, 'X-Gatehouse-Cache: on'), ' is answered from the cache '
      + 'when the same request (same provider, model and body) was answered before; otherwise its answer is kept for ',
    h('code', null, 'X-Gatehouse-Cache-TTL'), ' seconds (1 to 604,800; 300 by default). An app can cache all its requests '
      + 'with its cache setting (enabled and a TTL); ', h('code', null, 'X-Gatehouse-Cache: off'), ' opts one request out.'),
    h('p', null, 'Answers say ', h('code', null, 'X-Gatehouse-Cache: hit'), ', ', h('code', null, 'miss'), ' or ',
      h('code', null, 'off'), '. A hit calls no provider and costs nothing. Only whole, non-streamed answers are kept, '
      + 'in the memory of each node, and never shared with another organization.'));
  const actions = h('div', { class: 'gw-cache-actions' });
  if (session.can('cache:write')) {
    const clear = ui.button('Clear cache', async () => {
      const ok = await ui.confirm('Clear the response cache?',
        'Every cached answer of this organization on this node is removed: the next request of each kind '
          + 'goes to its provider again and is charged as usual.',
        { confirmLabel: 'Clear cache' });
      if (!ok) return;
      clear.disabled = true;
      try {
        const { deleted } = await del('/api/v1/cache');
        ui.notify(`Removed ${fmt.count(deleted)} cached answer${deleted === 1 ? '' : 's'}`);
      } catch (err) {
        ui.notify(err.message, 'error');
      } finally {
        clear.disabled = false;
      }
    });
    actions.append(clear);
  }
  return ui.section('Response cache', prose, actions.childNodes.length ? actions : null);
}

export default {
  path: '/ui/settings',
  title: 'Settings and plan',
  async render(ctx) {
    const { session } = ctx;
    const me = session.current() || {};
    const header = ui.pageHeader('Settings and plan', 'This organization, its plan and what the plan includes.');
    const parts = [header];

    if (session.can('org:read')) {
      const box = h('div', { class: 'ins-org-slot' });
      const view = (org) => h('div', { class: 'ins-org' },
        orgDetails(org),
        session.can('org:write')
          ? h('div', null, h('h3', null, 'Edit'), orgForm(org, org.plan === 'enterprise', (saved) => {
            replace(box, view(saved));
            // The frame shows the org's name: refresh the profile quietly.
            loadProfile().then(({ me: m, ents }) => session.setProfile(m, ents)).catch(() => {});
          }))
          : null);
      ui.fill(box, async () => view(await get('/api/v1/org')), { lines: 6 });
      parts.push(ui.section('Organization', box));
    } else {
      const org = me.org || {};
      parts.push(ui.section('Organization',
        ui.details([
          ['Name', org.name || '—'],
          ['Slug', h('code', null, org.slug || '—')],
          ['Plan', planName(org.plan)],
        ]),
        h('p', { class: 'muted ins-note' }, 'Only admins and owners see and change the organization\'s settings.')));
    }

    if (me.user) {
      parts.push(ui.section('You',
        ui.details([
          ['Name', me.user.display_name || '—'],
          ['Email', me.user.email],
          ['Role', ui.badge(me.role)],
        ]),
        h('p', { class: 'muted ins-note' }, {
          owner: 'Owners can do everything, including granting the owner role.',
          admin: 'Admins manage members (not owners), teams, apps, providers, prices and every key.',
          member: 'Members create, use and revoke their own keys within their team and read the dashboards.',
          viewer: 'Viewers read everything the console shows and change nothing.',
        }[me.role] || '')));
    }

    const limits = h('div', { class: 'ins-limits-slot' });
    const features = h('div', { class: 'ins-features-slot' });
    const ents = get('/api/v1/auth/entitlements');
    ents.catch(() => {});
    ui.fill(limits, async () => limitList(await ents), { lines: 4 });
    ui.fill(features, async () => featureTable(await ents), { lines: 12 });
    const change = h('div', { class: 'ins-change-slot' });
    ui.fill(change, async () => planChange(me.org && me.org.slug, (await ents).plan), { lines: 4 });
    parts.push(
      ui.section('Plan and limits', limits),
      ui.section('Features', features),
      cacheSection(session),
      ui.section('Changing the plan', change));
    return h('div', null, parts);
  },
};
