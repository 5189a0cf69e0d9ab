// API keys: the org's keys (a member sees only their own), creating one,
// rotating one with an overlap, revoking one.

import { h } from '../dom.js';
import { get, post, del } from '../api.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';

const SCOPE_HINT = '“*” allows everything. Narrow a key with provider:<name> '
  + '(only that provider) and model:<name> (only that model), separated by '
  + 'commas or spaces, e.g. “provider:openai model:gpt-4o-mini”.';

/** "a, b c" → ["a", "b", "c"]; empty → ["*"]. */
function parseScopes(text) {
  const scopes = String(text || '').split(/[\s,]+/).filter(Boolean);
  return scopes.length ? scopes : ['*'];
}

function plural(n, one, many) {
  return `${fmt.count(n)} ${Number(n) === 1 ? one : many}`;
}

/** Names of the org's apps and teams by id; either may be unreadable. */
async function loadNames() {
  const [apps, teams] = await Promise.allSettled([
    get('/api/v1/apps'), get('/api/v1/teams'),
  ]);
  const appList = apps.status === 'fulfilled' ? apps.value.apps || [] : [];
  const teamList = teams.status === 'fulfilled' ? teams.value.teams || [] : [];
  return {
    apps: appList,
    teams: teamList,
    appName: new Map(appList.map((a) => [a.id, a.name])),
    teamName: new Map(teamList.map((t) => [t.id, t.name])),
  };
}

/** The team a member's keys go to (members create keys only there). */
async function ownTeamId(session) {
  try {
    const me = session.current();
    const { users } = await get('/api/v1/users', { q: me.user.email });
    const self = (users || []).find((u) => u.id === me.user.id);
    return self ? self.team_id || null : null;
  } catch {
    return null;
  }
}

function scopeList(scopes) {
  return h('span', { class: 'gw-scopes' },
    (scopes || []).map((s) => h('code', { class: 'gw-chip' }, s)));
}

function showRawKey(title, raw, extra) {
  return ui.openDialog(title, (close) => [
    h('div', { class: 'dialog-body' },
      ui.secretOnce('API key', raw),
      h('p', null, 'Send it in the ', h('code', null, 'X-Gatehouse-Key'), ' header.'),
      extra || null),
    h('div', { class: 'dialog-actions' },
      ui.button('Done', () => close(true), { variant: 'primary' })),
  ]);
}

async function createKey(session, names, reload) {
  const member = session.current().role === 'member';
  const rateLimits = session.entitled('per_key_rate_limits');
  let teamOptions = [['', 'No team'], ...names.teams.map((t) => [t.id, t.name])];
  let teamHint = 'Spend of the key counts toward the team’s budget.';
  if (member) {
    const own = await ownTeamId(session);
    const name = own && (names.teamName.get(own) || 'Your team');
    teamOptions = own ? [[own, name]] : [['', 'No team']];
    teamHint = 'Members create keys only in their own team.';
  }
  const result = await ui.formDialog('New key', {
    submitLabel: 'Create',
    fields: [
      { name: 'name', label: 'Name', required: true, autocomplete: 'off', placeholder: 'ci-key' },
      { name: 'scopes', label: 'Scopes', value: '*', hint: SCOPE_HINT, autocomplete: 'off' },
      {
        name: 'app_id', label: 'App', type: 'select',
        options: [['', 'No app'], ...names.apps.map((a) => [a.id, a.name])],
      },
      { name: 'team_id', label: 'Team', type: 'select', options: teamOptions, hint: teamHint },
      {
        name: 'rate_limit_rpm', label: 'Rate limit (requests per minute)', type: 'number',
        min: 1, step: 1, disabled: !rateLimits,
        hint: rateLimits ? 'Empty means no per-key limit.'
          : 'Per-key rate limits need the Enterprise plan.',
      },
      {
        name: 'expires_at', label: 'Expires', type: 'datetime-local',
        hint: 'Your local time; empty means the key does not expire.',
      },
    ],
    validate(values, form) {
      if (!values.name.trim()) { ui.fieldError(form, 'name', 'Give the key a name.'); return false; }
      const rpm = values.rate_limit_rpm;
      if (rateLimits && rpm !== null && !(Number.isInteger(rpm) && rpm >= 1)) {
        ui.fieldError(form, 'rate_limit_rpm', 'A whole number of requests, at least 1.');
        return false;
      }
      if (values.expires_at) {
        const at = fmt.utcFromLocalInput(values.expires_at);
        if (!at) { ui.fieldError(form, 'expires_at', 'Not a date and time.'); return false; }
        if (new Date(at).getTime() <= Date.now()) {
          ui.fieldError(form, 'expires_at', 'Pick a time in the future.');
          return false;
        }
      }
      return true;
    },
    async submit(values) {
      const body = { name: values.name.trim(), scopes: parseScopes(values.scopes) };
      if (values.app_id) body.app_id = values.app_id;
      if (values.team_id) body.team_id = values.team_id;
      if (rateLimits && values.rate_limit_rpm !== null) body.rate_limit_rpm = values.rate_limit_rpm;
      if (values.expires_at) body.expires_at = fmt.utcFromLocalInput(values.expires_at);
      return post('/api/v1/keys', body);
    },
  });
  if (!result || !result.raw_key) return;
  reload();
  await showRawKey(`Key “${result.key.name}” created`, result.raw_key);
}

async function rotateKey(key, reload) {
  const result = await ui.formDialog(`Rotate ${key.name}`, {
    submitLabel: 'Rotate',
    intro: h('p', null, 'Rotation gives the key a new secret; its name, scopes, app and team stay. '
      + 'The current secret keeps working during the overlap, then is refused.'),
    fields: [{
      name: 'overlap_hours', label: 'Overlap (hours)', type: 'number', value: 24,
      min: 0, max: 168, step: 1, required: true,
      hint: '0 to 168. 0 stops the current secret at once.',
    }],
    validate(values, form) {
      const v = values.overlap_hours;
      if (!(Number.isInteger(v) && v >= 0 && v <= 168)) {
        ui.fieldError(form, 'overlap_hours', 'A whole number of hours from 0 to 168.');
        return false;
      }
      return true;
    },
    submit: (values) => post(`/api/v1/keys/${encodeURIComponent(key.id)}/rotate`,
      { overlap_hours: values.overlap_hours }),
  });
  if (!result || !result.raw_key) return;
  reload();
  const hours = Number(result.overlap_hours);
  const stamp = /\d{4}-\d\d-\d\dT[\d:.]+Z/.exec(result.message || '');
  const until = stamp ? stamp[0]
    : new Date(Date.now() + hours * 3600e3).toISOString();
  const note = hours > 0
    ? h('p', null, 'The previous secret keeps working until ', ui.time(until), ', then is refused.')
    : h('p', null, 'The previous secret no longer works.');
  await showRawKey(`Key “${key.name}” rotated`, result.raw_key, note);
}

async function revokeKey(key, reload) {
  const ok = await ui.confirm(`Revoke ${key.name}?`, [
    h('p', null, `Requests with “${key.name}” (${key.key_prefix}…) are refused from the next `
      + 'request on, on every node. Revoking cannot be undone.'),
  ], { confirmLabel: 'Revoke' });
  if (!ok) return;
  const done = await ui.attempt(
    () => del(`/api/v1/keys/${encodeURIComponent(key.id)}`),
    `Revoked ${key.name}`);
  if (done) reload();
}

function keyTable(keys, names, session, reload, newButton) {
  const canWrite = session.can('keys:write');
  const columns = [
    { key: 'name', label: 'Name', render: (k) => h('strong', { class: 'gw-nowrap' }, k.name) },
    { key: 'key_prefix', label: 'Prefix', render: (k) => h('code', { class: 'gw-nowrap' }, `${k.key_prefix}…`) },
    { key: 'scopes', label: 'Scopes', render: (k) => scopeList(k.scopes) },
    {
      key: 'app', label: 'App',
      render: (k) => (k.app_id ? names.appName.get(k.app_id) || h('span', { class: 'muted' }, 'unknown app')
        : h('span', { class: 'muted' }, '—')),
    },
    {
      key: 'team', label: 'Team',
      render: (k) => (k.team_id ? names.teamName.get(k.team_id) || h('span', { class: 'muted' }, 'unknown team')
        : h('span', { class: 'muted' }, '—')),
    },
    { key: 'status', label: 'Status', render: (k) => h('span', null, ui.statusBadge(k.status)) },
    { key: 'created_at', label: 'Created', render: (k) => ui.time(k.created_at, { dateOnly: true }) },
    { key: 'last_used_at', label: 'Last used', render: (k) => ui.time(k.last_used_at) },
    {
      key: 'expires_at', label: 'Expires',
      render: (k) => (k.expires_at ? ui.time(k.expires_at, { dateOnly: true }) : h('span', { class: 'muted' }, 'never')),
    },
    { key: 'request_count', label: 'Requests', align: 'right', render: (k) => fmt.count(k.request_count) },
  ];
  if (canWrite) {
    columns.push({
      key: 'actions', label: 'Actions',
      render: (k) => h('div', { class: 'row-actions' },
        k.status === 'revoked' ? null
          : ui.button('Rotate', () => rotateKey(k, reload), { class: 'btn small', 'aria-label': `Rotate ${k.name}` }),
        k.status === 'revoked' ? null
          : ui.button('Revoke', () => revokeKey(k, reload), { class: 'btn small danger', 'aria-label': `Revoke ${k.name}` })),
    });
  }
  return ui.table({
    columns,
    rows: keys,
    caption: 'API keys',
    empty: ui.emptyState('No API keys yet.',
      canWrite ? 'Create one to call the gateway.' : 'An admin or member can create one to call the gateway.',
      newButton),
  });
}

export default {
  path: '/ui/keys',
  title: 'API keys',
  async render(ctx) {
    const { session } = ctx;
    const canWrite = session.can('keys:write');
    const member = session.current().role === 'member';
    const body = h('div');
    let names = null;
    const reload = () => ui.fill(body, async () => {
      const [list, loaded] = await Promise.all([get('/api/v1/keys'), loadNames()]);
      names = loaded;
      const emptyButton = canWrite
        ? ui.button('Create a key', () => createKey(session, names, reload), { variant: 'primary' }) : null;
      const keys = (list.keys || []).slice().sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
      return h('div', { class: 'gw-table' }, keyTable(keys, names, session, reload, emptyButton));
    }, { lines: 5 });
    const newButton = canWrite
      ? ui.button('New key', async () => {
        if (!names) names = await loadNames();
        createKey(session, names, reload);
      }, { variant: 'primary' })
      : null;
    const limit = session.plan() && session.plan().limits ? session.plan().limits.max_api_keys : null;
    const description = [
      member ? 'Your keys for calling the gateway.' : 'Keys that call the gateway.',
      limit ? ` The plan allows ${plural(limit, 'active key', 'active keys')}.` : '',
    ].join('');
    reload();
    return h('div', null,
      ui.pageHeader('API keys', description, newButton),
      ui.section(null, body));
  },
};
