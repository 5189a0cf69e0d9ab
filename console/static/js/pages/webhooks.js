// Webhooks: signed POSTs to the organization's own URLs when something
// happens (keys, members, budgets, provider errors, guardrail blocks). Admins
// create one (its signing secret shown once), send a test and delete it;
// everyone who may read sees the endpoints and their delivery log.

import { h, uid } from '../dom.js';
import { get, post, del } from '../api.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';

/** The event types a webhook can subscribe to, with what raises them. */
const EVENTS = [
  ['key.created', 'an API key is created'],
  ['key.rotated', 'an API key is rotated'],
  ['key.revoked', 'an API key is revoked'],
  ['key.expiring', 'an API key expires within 7 days'],
  ['member.invited', 'someone is invited'],
  ['member.joined', 'an invited person joins'],
  ['member.suspended', 'a member is suspended'],
  ['budget.threshold', 'a team reaches 50, 80 or 100 % of its monthly budget'],
  ['provider.errors', 'a provider fails 5 requests within a minute'],
  ['guardrail.blocked', 'a guardrail rule blocks a request or answer'],
];

const MAX_WEBHOOKS = 20;

const muted = (text) => h('span', { class: 'muted' }, text);

/** App names by id; an unreadable app list leaves ids unnamed. */
async function loadApps() {
  try {
    const answer = await get('/api/v1/apps');
    return answer.apps || [];
  } catch {
    return [];
  }
}

function eventList(events) {
  return h('span', { class: 'gw-scopes' },
    (events || []).map((e) => h('code', { class: 'gw-chip' }, e)));
}

/** The events as a group of labelled checkboxes; errors land under it. */
function eventsFieldset() {
  const legendId = uid('ev');
  const hintId = `${legendId}-hint`;
  const errorId = `${legendId}-error`;
  const boxes = EVENTS.map(([type, what]) => {
    const id = `${legendId}-${type.replace('.', '-')}`;
    const box = h('input', { id, type: 'checkbox', name: 'events', value: type });
    return h('div', { class: 'field-check wh-event' },
      h('label', { for: id }, box, ' ', h('code', null, type), h('span', { class: 'muted' }, ` ${what}`)));
  });
  const set = h('fieldset', {
    class: 'field wh-events', 'data-field': 'events', 'aria-describedby': `${hintId} ${errorId}`,
  },
  h('legend', null, 'Events', h('span', { class: 'req', 'aria-hidden': 'true' }, ' *')),
  h('p', { class: 'hint muted', id: hintId },
    'Pick at least one. “Send test” delivers a webhook.test event whatever you pick.'),
  h('div', { class: 'wh-event-list' }, boxes),
  h('p', { class: 'field-error', id: errorId }));
  set.control = boxes[0].querySelector('input');
  return set;
}

function checkedEvents(form) {
  return [...form.querySelectorAll('input[name="events"]:checked')].map((el) => el.value);
}

/** How a receiver checks that a delivery came from Gatehouse. */
function verifyNote() {
  return h('div', { class: 'wh-verify' },
    h('p', null, 'Each delivery is a JSON POST with the Standard Webhooks headers ',
      h('code', null, 'webhook-id'), ', ', h('code', null, 'webhook-timestamp'), ' and ',
      h('code', null, 'webhook-signature'), '.'),
    h('p', null, 'To verify one, compute the HMAC-SHA256 of ',
      h('code', null, '<webhook-id>.<webhook-timestamp>.<raw body>'),
      ' keyed with the base64-decoded part of the secret after ', h('code', null, 'whsec_'),
      ', encode it in base64 and compare it with the value after ', h('code', null, 'v1,'),
      ' in ', h('code', null, 'webhook-signature'),
      '. Refuse old timestamps, and drop repeated webhook-ids: a delivery may come more than once. '
      + 'Any Standard Webhooks library does this for you.'));
}

async function showSecret(webhook, secret) {
  // The secret is stored encrypted, not as a hash: say only what holds.
  const once = ui.secretOnce('Signing secret', secret,
    'Copy it now: Gatehouse will not show it again. To change it, delete the webhook and create another.');
  await ui.openDialog('Webhook created', (close) => [
    h('div', { class: 'dialog-body' },
      h('p', null, 'Events go to ', h('code', { class: 'gw-url' }, webhook.url), '.'),
      once,
      verifyNote()),
    h('div', { class: 'dialog-actions' },
      ui.button('Done', () => close(true), { variant: 'primary' })),
  ], { wide: true });
}

async function createWebhook(apps, count, reload) {
  if (count >= MAX_WEBHOOKS) {
    ui.notify(`An organization has at most ${MAX_WEBHOOKS} webhooks: delete one first.`, 'error');
    return;
  }
  const result = await ui.formDialog('New webhook', {
    submitLabel: 'Create',
    wide: true,
    intro: h('p', { class: 'muted' }, 'Gatehouse POSTs a signed JSON event to this URL when one of '
      + 'the chosen things happens, and retries with backoff for 24 hours until the URL answers 2xx.'),
    fields: [
      {
        name: 'url', label: 'URL', type: 'url', required: true, autocomplete: 'off',
        placeholder: 'https://example.com/hooks/gatehouse',
        hint: 'http or https, without user name, query or fragment. Private and loopback addresses are refused unless the operator allows them.',
      },
      eventsFieldset(),
      {
        name: 'app_id', label: 'App', type: 'select',
        options: [['', 'None: every event of the organization'], ...apps.map((a) => [a.id, a.name])],
        hint: 'With an app, only events about that app (its keys) are sent.',
      },
      {
        name: 'description', label: 'Description', type: 'textarea', rows: 2, autocomplete: 'off',
        hint: 'Optional, up to 1000 bytes: what the receiver is for.',
      },
    ],
    validate(values, form) {
      if (!/^https?:\/\/[^\s/?#]+/i.test(values.url.trim())) {
        ui.fieldError(form, 'url', 'Start with http:// or https:// and a host.');
        return false;
      }
      if (checkedEvents(form).length === 0) {
        ui.fieldError(form, 'events', 'Pick at least one event.');
        return false;
      }
      if (new TextEncoder().encode(values.description).length > 1000) {
        ui.fieldError(form, 'description', 'At most 1000 bytes.');
        return false;
      }
      return true;
    },
    submit(values, form) {
      const body = { url: values.url.trim(), events: checkedEvents(form) };
      if (values.app_id) body.app_id = values.app_id;
      if (values.description.trim()) body.description = values.description.trim();
      return post('/api/v1/webhooks', body);
    },
  });
  if (!result || !result.secret) return;
  reload();
  await showSecret(result.webhook, result.secret);
}

async function sendTest(w) {
  try {
    const answer = await post(`/api/v1/webhooks/${encodeURIComponent(w.id)}/test`);
    ui.notify(`Test event ${answer.event_id || ''} queued for ${w.url}. Its attempts show under Deliveries.`);
  } catch (err) {
    ui.notify(err.message, 'error');
  }
}

function statusCell(d) {
  if (d.status_code === null || d.status_code === undefined) return ui.badge('no answer', 'red');
  const ok = d.status_code >= 200 && d.status_code < 300;
  return ui.badge(String(d.status_code), ok ? 'green' : 'red');
}

function deliveryTable(deliveries) {
  return ui.table({
    columns: [
      { key: 'at', label: 'Time', render: (d) => ui.time(d.at) },
      { key: 'type', label: 'Type', render: (d) => h('code', { class: 'gw-nowrap' }, d.type) },
      { key: 'attempt', label: 'Attempt', align: 'right', render: (d) => fmt.count(d.attempt) },
      { key: 'status_code', label: 'Status', render: statusCell },
      { key: 'error', label: 'Error', render: (d) => (d.error ? h('span', { class: 'wh-error' }, d.error) : muted('—')) },
      { key: 'event_id', label: 'Event', render: (d) => h('code', { class: 'gw-url' }, d.event_id) },
    ],
    rows: deliveries,
    caption: 'Delivery attempts, newest first',
    empty: ui.emptyState('No deliveries yet.',
      'Attempts show here once an event is sent. “Send test” sends one now; Refresh shows new attempts.'),
  });
}

function showDeliveries(w) {
  return ui.openDialog(`Deliveries to ${w.url}`, (close) => {
    const box = h('div', { class: 'gw-table wh-deliveries', 'aria-live': 'polite' });
    const redraw = ui.reloader(box);
    const load = () => redraw(async () => {
      const answer = await get(`/api/v1/webhooks/${encodeURIComponent(w.id)}/deliveries`, { limit: 100 });
      return deliveryTable(answer.deliveries || []);
    });
    box.append(ui.skeleton(3));
    load();
    return [
      h('div', { class: 'dialog-body' },
        h('p', { class: 'muted' }, 'Each attempt, newest first: the receiver’s status, or “no answer” '
          + 'when it could not be reached in 10 seconds. Failed deliveries are retried for 24 hours.'),
        box),
      h('div', { class: 'dialog-actions' },
        ui.button('Refresh', load),
        ui.button('Close', () => close(true), { variant: 'primary' })),
    ];
  }, { wide: true });
}

async function deleteWebhook(w, reload) {
  const ok = await ui.confirm(`Delete the webhook to ${w.url}?`, [
    h('p', null, `Gatehouse stops sending events to ${w.url} at once: queued deliveries and retries `
      + 'are dropped along with the delivery log.'),
    h('p', null, 'This cannot be undone; a new webhook gets a new signing secret.'),
  ], { confirmLabel: 'Delete' });
  if (!ok) return;
  const done = await ui.attempt(
    () => del(`/api/v1/webhooks/${encodeURIComponent(w.id)}`),
    `Deleted the webhook to ${w.url}`);
  if (done) reload();
}

function webhookTable(webhooks, appName, canWrite, reload, emptyAction) {
  const columns = [
    { key: 'url', label: 'URL', render: (w) => h('code', { class: 'gw-url' }, w.url) },
    { key: 'events', label: 'Events', render: (w) => eventList(w.events) },
    {
      key: 'app', label: 'App',
      render: (w) => (w.app_id ? appName.get(w.app_id) || muted('unknown app') : muted('all')),
    },
    { key: 'description', label: 'Description', render: (w) => (w.description ? w.description : muted('—')) },
    { key: 'created_at', label: 'Created', render: (w) => ui.time(w.created_at, { dateOnly: true }) },
    {
      key: 'actions', label: 'Actions',
      render: (w) => h('div', { class: 'row-actions' },
        ui.button('Deliveries', () => showDeliveries(w), { class: 'btn small', 'aria-label': `Deliveries ${w.url}` }),
        canWrite ? ui.button('Send test', () => sendTest(w), { class: 'btn small', 'aria-label': `Send test ${w.url}` }) : null,
        canWrite ? ui.button('Delete', () => deleteWebhook(w, reload), { class: 'btn small danger', 'aria-label': `Delete ${w.url}` }) : null),
    },
  ];
  return ui.table({
    columns,
    rows: webhooks,
    caption: 'Webhooks',
    empty: ui.emptyState('No webhooks yet.',
      'A webhook tells another system about this organization as it happens: keys created, rotated or '
      + 'revoked, members invited or suspended, budgets running low, providers failing, guardrails blocking. '
      + (canWrite ? 'Create one with the URL of your receiver.' : 'An admin can create one.'),
      emptyAction),
  });
}

export default {
  path: '/ui/webhooks',
  title: 'Webhooks',
  async render(ctx) {
    const { session } = ctx;
    const description = 'Signed event notifications sent to your own URLs.';
    if (!session.entitled('webhooks')) {
      return h('div', null,
        ui.pageHeader('Webhooks', description),
        ui.section(null, ui.planRequired('webhooks', 'Webhooks')));
    }
    const canWrite = session.can('webhooks:write');
    const body = h('div');
    let apps = null;
    let count = 0;
    const create = async () => {
      if (!apps) apps = await loadApps();
      createWebhook(apps, count, reload);
    };
    const redraw = ui.reloader(body);
    function reload() {
      return redraw(async (stale) => {
        const [answer, loaded] = await Promise.all([get('/api/v1/webhooks'), loadApps()]);
        if (stale()) return null;
        apps = loaded;
        const appName = new Map(apps.map((a) => [a.id, a.name]));
        const webhooks = (answer.webhooks || []).slice()
          .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
        count = webhooks.length;
        const emptyAction = canWrite ? ui.button('Create a webhook', create, { variant: 'primary' }) : null;
        return h('div', null,
          webhooks.length ? h('p', { class: 'muted gw-limit' },
            `${fmt.count(webhooks.length)} of ${fmt.count(MAX_WEBHOOKS)} webhooks this organization may have.`) : null,
          h('div', { class: 'gw-table' }, webhookTable(webhooks, appName, canWrite, reload, emptyAction)));
      });
    }
    body.append(ui.skeleton(4));
    reload();
    return h('div', null,
      ui.pageHeader('Webhooks', description,
        canWrite ? ui.button('New webhook', create, { variant: 'primary' }) : null),
      ui.section(null, body));
  },
};
