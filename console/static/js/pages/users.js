// Users: the organization's members and invitations. Search, filters and
// sort are asked of the server and kept in the URL; admins and owners
// invite, change roles and teams, suspend, reactivate and remove members.

import { h, replace } from '../dom.js';
import { get, post, put, del } from '../api.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';
import * as session from '../session.js';

const ROLES = ['owner', 'admin', 'member', 'viewer'];
const STATUSES = ['active', 'invited', 'suspended'];
const SORTS = ['name', 'email', 'role', 'status', 'last_active', 'joined_at'];
const ROLE_HINTS = {
  owner: 'everything, including roles and the plan',
  admin: 'providers, teams, apps, all keys, invitations',
  member: 'their own keys within their team; reads dashboards',
  viewer: 'read-only',
};
const SEARCH_DELAY_MS = 300;

/** The filters and sort the URL carries, invalid values dropped. */
function stateFrom(params) {
  const pick = (name, allowed) => {
    const v = params.get(name) || '';
    return allowed.includes(v) ? v : '';
  };
  return {
    q: (params.get('q') || '').slice(0, 200),
    role: pick('role', ROLES),
    status: pick('status', STATUSES),
    sort: pick('sort', SORTS),
    order: pick('order', ['asc', 'desc']),
  };
}

/** Writes the state into the address bar without drawing the page again. */
const SORT_CHOICES = [
  ['', 'Default order'], ['name:asc', 'Name, A to Z'], ['name:desc', 'Name, Z to A'],
  ['email:asc', 'Email, A to Z'], ['role:asc', 'Role'], ['status:asc', 'Status'],
  ['last_active:desc', 'Recently active first'], ['joined_at:desc', 'Newest members first'],
  ['joined_at:asc', 'Oldest members first'],
];

function keepInUrl(state) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v) params.set(k, v);
  const s = params.toString();
  history.replaceState(null, '', `/ui/users${s ? `?${s}` : ''}`);
}

function inviteLink(answer) {
  return location.origin + answer.invite_url;
}

/** The one-time view of an invitation link. */
function showInviteLink(email, answer, heading) {
  const org = session.current() ? session.current().org.name : 'the organization';
  return ui.openDialog(heading, (close) => [
    h('div', { class: 'dialog-body' },
      h('p', null, `Send this link to ${email} yourself: Gatehouse does not send email. `
        + `It lets them set a password and join ${org}, and works once, for 7 days.`),
      ui.secretOnce('Invite link', inviteLink(answer))),
    h('div', { class: 'dialog-actions' }, ui.button('Done', () => close(true), { variant: 'primary' })),
  ]);
}

function teamOptions(teams) {
  return [['', 'No team'], ...teams.map((t) => [t.id, t.name])];
}

export default {
  path: '/ui/users',
  title: 'Users',

  async render(ctx) {
    const state = stateFrom(ctx.params);
    const canWrite = session.can('users:write');
    const me = session.current();
    const isOwner = me && me.role === 'owner';
    let teams = [];
    let teamsLoaded = null;

    const loadTeams = () => {
      if (!teamsLoaded) {
        teamsLoaded = get('/api/v1/teams')
          .then((answer) => { teams = answer.teams || []; })
          .catch(() => { teams = []; teamsLoaded = null; });
      }
      return teamsLoaded;
    };
    const teamName = (id) => {
      if (!id) return h('span', { class: 'muted' }, 'No team');
      const team = teams.find((t) => t.id === id);
      return team ? team.name : h('span', { class: 'muted' }, 'Unknown team');
    };

    // -- page frame ---------------------------------------------------------
    const alertBox = h('div', { class: 'access-alert', role: 'alert', hidden: true });
    const showProblem = (err) => {
      const text = err && err.message ? err.message : String(err);
      replace(alertBox, h('p', null, text),
        ui.button('Dismiss', () => { alertBox.hidden = true; replace(alertBox); }, { class: 'btn small' }));
      alertBox.hidden = false;
    };
    const clearProblem = () => { alertBox.hidden = true; replace(alertBox); };

    const cardsBox = h('div', { class: 'access-cards' });
    const listBox = h('div', { class: 'access-list', 'aria-live': 'polite' });

    const search = ui.field({ name: 'q', label: 'Search', type: 'search', value: state.q, placeholder: 'Name or email' });
    const roleFilter = ui.field({
      name: 'role', label: 'Role', type: 'select', value: state.role,
      options: [['', 'All roles'], ...ROLES.map((r) => [r, r[0].toUpperCase() + r.slice(1)])],
    });
    const statusFilter = ui.field({
      name: 'status', label: 'Status', type: 'select', value: state.status,
      options: [['', 'All statuses'], ...STATUSES.map((s) => [s, s[0].toUpperCase() + s.slice(1)])],
    });
    // On a phone the table's header row is hidden (rows become cards), so
    // the order is chosen here instead.
    const sortChoice = ui.field({
      name: 'sort_choice', label: 'Sort by', type: 'select',
      value: state.sort ? `${state.sort}:${state.order || 'asc'}` : '',
      options: SORT_CHOICES,
    });
    sortChoice.classList.add('access-narrow-only');
    const filters = h('form', {
      class: 'toolbar access-toolbar', role: 'search', 'aria-label': 'Filter members',
      on: { submit: (ev) => { ev.preventDefault(); applyFilters(); } },
    }, search, roleFilter, statusFilter, sortChoice);

    // -- loading --------------------------------------------------------------
    let timer = null;
    function applyFilters() {
      clearTimeout(timer);
      state.q = search.control.value.trim();
      state.role = roleFilter.control.value;
      state.status = statusFilter.control.value;
      keepInUrl(state);
      reload();
    }
    search.control.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(applyFilters, SEARCH_DELAY_MS);
    });
    roleFilter.control.addEventListener('change', applyFilters);
    sortChoice.control.addEventListener('change', () => {
      const [key, order] = sortChoice.control.value.split(':');
      state.sort = key || '';
      state.order = key ? order : '';
      keepInUrl(state);
      reload();
    });
    statusFilter.control.addEventListener('change', applyFilters);

    const columns = [
      { key: 'name', label: 'Name', sortable: true, render: (u) => h('span', { class: 'access-name' }, u.name || u.email) },
      { key: 'email', label: 'Email', sortable: true, render: (u) => h('span', { class: 'access-email' }, u.email) },
      { key: 'role', label: 'Role', sortable: true, render: (u) => ui.badge(u.role, u.role === 'owner' ? 'blue' : '') },
      { key: 'status', label: 'Status', sortable: true, render: (u) => ui.statusBadge(u.status) },
      { key: 'team', label: 'Team', render: (u) => teamName(u.team_id) },
      { key: 'last_active', label: 'Last active', sortable: true, render: (u) => ui.time(u.last_active_at) },
      { key: 'joined_at', label: 'Joined', sortable: true, render: (u) => (u.joined_at ? ui.time(u.joined_at, { dateOnly: true }) : h('span', { class: 'muted' }, 'not yet')) },
    ];
    if (canWrite) columns.push({ key: 'actions', label: 'Actions', render: (u) => rowActions(u) });

    function filtered() { return Boolean(state.q || state.role || state.status); }

    function emptyList() {
      if (filtered()) {
        return ui.emptyState('No one matches these filters.',
          state.q ? `Nobody's name or email contains “${state.q}”. Try another search or clear the filters.`
            : 'Try other filters or clear them.',
          ui.button('Clear filters', () => {
            search.control.value = '';
            roleFilter.control.value = '';
            statusFilter.control.value = '';
            applyFilters();
            search.control.focus();
          }));
      }
      return ui.emptyState('No members yet.', canWrite ? 'Invite someone to give them access to this organization.' : null);
    }

    function expand(u) {
      return ui.details([
        ['Team', teamName(u.team_id)],
        ['API keys', fmt.count(u.api_keys)],
        ['Requests', fmt.count(u.request_count)],
        ['Joined', u.joined_at ? ui.time(u.joined_at) : h('span', { class: 'muted' }, 'not yet (invited)')],
        ['Last active', ui.time(u.last_active_at)],
        ['Role allows', ROLE_HINTS[u.role] || u.role],
      ]);
    }

    function drawCards(summary) {
      replace(cardsBox, ui.cards([
        { label: 'Total users', value: fmt.count(summary.total) },
        { label: 'Active', value: fmt.count(summary.active) },
        { label: 'Admins', value: fmt.count(summary.admins), hint: 'Owners and admins' },
        { label: 'Pending invites', value: fmt.count(summary.pending_invites) },
      ]));
    }

    /** Loads the list; `focus()` may name a control to focus afterwards. */
    const redraw = ui.reloader(listBox);
    function reload({ focus } = {}) {
      return redraw(async (stale) => {
        const [answer] = await Promise.all([
          get('/api/v1/users', {
            q: state.q, role: state.role, status: state.status, sort: state.sort, order: state.order,
          }),
          loadTeams(),
        ]);
        if (stale()) return null;
        drawCards(answer.summary || {});
        return ui.table({
          columns,
          rows: answer.users,
          caption: 'Members of this organization',
          sort: state.sort ? { key: state.sort, order: state.order || 'asc' } : null,
          onSort: (key, order) => {
            state.sort = key;
            state.order = order;
            sortChoice.control.value = `${key}:${order}`;
            keepInUrl(state);
            reload({ focus: () => sortButton(key) });
          },
          expand,
          rowLabel: (u) => u.email,
          empty: emptyList(),
        });
      }, focus);
    }

    function sortButton(key) {
      const index = columns.findIndex((c) => c.key === key);
      const th = listBox.querySelectorAll('thead th')[index + 1];
      return th ? th.querySelector('button') : null;
    }

    /** After an action: reload, then focus the same row's control if it is still there. */
    function refreshAfter(label) {
      return reload({
        focus: () => listBox.querySelector(`[aria-label="${CSS.escape(label)}"]`)
          || document.getElementById('page-title'),
      });
    }

    // -- actions --------------------------------------------------------------
    async function run(label, action, success) {
      clearProblem();
      try {
        const result = await action();
        if (success) ui.notify(success);
        await refreshAfter(label);
        return result;
      } catch (err) {
        showProblem(err);
        await refreshAfter(label);
        return null;
      }
    }

    async function editTeam(u) {
      await loadTeams();
      const label = `Edit ${u.email}`;
      const done = await ui.formDialog(`Team of ${u.email}`, {
        fields: [{
          name: 'team_id', label: 'Team', type: 'select', value: u.team_id || '', options: teamOptions(teams),
          hint: teams.length ? 'Members create and use keys within their team; its budget applies to them.'
            : 'This organization has no teams yet. Create one on the Teams page.',
        }],
        submitLabel: 'Save',
        submit: (values) => put(`/api/v1/users/${encodeURIComponent(u.id)}`, { team_id: values.team_id || null }),
      });
      if (done) {
        ui.notify(`Team of ${u.email} saved.`);
        await refreshAfter(label);
      }
    }

    async function changeRole(u) {
      const offered = (isOwner ? ROLES : ROLES.filter((r) => r !== 'owner'));
      const label = `Change role ${u.email}`;
      const done = await ui.formDialog(`Role of ${u.email}`, {
        intro: h('p', { class: 'muted' }, 'The change applies to their next request. '
          + (isOwner ? '' : 'Only owners can grant the owner role.')),
        fields: [{
          name: 'role', label: 'Role', type: 'select', value: u.role,
          options: offered.map((r) => [r, `${r[0].toUpperCase()}${r.slice(1)}: ${ROLE_HINTS[r]}`]),
        }],
        submitLabel: 'Save',
        submit: (values) => put(`/api/v1/users/${encodeURIComponent(u.id)}`, { role: values.role }),
      });
      if (done) {
        ui.notify(`${u.email} is now ${done.role || 'updated'}.`);
        await refreshAfter(label);
      }
    }

    async function suspend(u) {
      const ok = await ui.confirm(`Suspend ${u.email}?`, [
        h('p', null, `${u.email} can no longer sign in to this organization, and their open sessions stop working at their next request.`),
        h('p', null, 'Their data and API keys stay in place; reactivate them to restore access.'),
      ], { confirmLabel: 'Suspend' });
      if (ok) {
        await run(`Reactivate ${u.email}`, () => post(`/api/v1/users/${encodeURIComponent(u.id)}/suspend`),
          `${u.email} is suspended.`);
      }
    }

    async function reactivate(u) {
      const ok = await ui.confirm(`Reactivate ${u.email}?`,
        `${u.email} can sign in again with the role ${u.role}.`, { confirmLabel: 'Reactivate', danger: false });
      if (ok) {
        await run(`Suspend ${u.email}`, () => post(`/api/v1/users/${encodeURIComponent(u.id)}/reactivate`),
          `${u.email} is active again.`);
      }
    }

    async function resend(u) {
      const ok = await ui.confirm(`Resend the invitation to ${u.email}?`,
        'Gatehouse makes a new invite link for you to send; the earlier link stops working.',
        { confirmLabel: 'Resend', danger: false });
      if (!ok) return;
      const answer = await run(`Resend invite ${u.email}`,
        () => post(`/api/v1/users/${encodeURIComponent(u.id)}/resend-invite`));
      if (answer) await showInviteLink(u.email, answer, 'Invitation renewed');
    }

    async function remove(u) {
      const keys = Number(u.api_keys) || 0;
      let keyText = `All ${fmt.count(keys)} of their API keys in this organization are revoked at once`;
      if (keys === 1) keyText = 'Their API key in this organization is revoked at once';
      if (keys === 0) keyText = 'Any API key of theirs in this organization is revoked (they have none now)';
      const ok = await ui.confirm(`Delete ${u.email}?`, [
        h('p', null, `${u.email} is removed from ${me ? me.org.name : 'this organization'}. `
          + `${keyText}: any program using them gets 401 from then on.`),
        u.status === 'invited' ? h('p', null, 'Their invite link stops working.') : null,
        h('p', null, 'Their account and their memberships of other organizations are not affected. This cannot be undone.'),
      ], { confirmLabel: 'Delete' });
      if (ok) {
        await run('', () => del(`/api/v1/users/${encodeURIComponent(u.id)}`), `${u.email} was removed.`);
      }
    }

    function rowActions(u) {
      // Admins cannot manage owners; only owners see actions on owner rows.
      if (u.role === 'owner' && !isOwner) return h('span', { class: 'muted' }, 'Only owners manage owners');
      const act = (text, action, fn, variant) => ui.button(text, () => fn(u), {
        class: ['btn', 'small', variant].filter(Boolean).join(' '), 'aria-label': `${action} ${u.email}`,
      });
      return h('div', { class: 'row-actions access-user-actions' },
        act('Edit', 'Edit', editTeam),
        act('Change role', 'Change role', changeRole),
        u.status === 'active' ? act('Suspend', 'Suspend', suspend) : null,
        u.status === 'suspended' ? act('Reactivate', 'Reactivate', reactivate) : null,
        u.status === 'invited' ? act('Resend invite', 'Resend invite', resend) : null,
        act('Delete', 'Delete', remove, 'danger'));
    }

    async function invite() {
      await loadTeams();
      let email = '';
      const answer = await ui.formDialog('Invite member', {
        intro: h('p', { class: 'muted' }, 'Gatehouse makes an invite link for you to send. '
          + 'The person sets a password with it and joins with the role you choose.'),
        fields: [
          { name: 'email', label: 'Email', type: 'email', required: true, autocomplete: 'off', placeholder: 'name@example.com' },
          {
            name: 'role', label: 'Role', type: 'select', value: 'member',
            options: ['admin', 'member', 'viewer'].map((r) => [r, `${r[0].toUpperCase()}${r.slice(1)}: ${ROLE_HINTS[r]}`]),
          },
          { name: 'team_id', label: 'Team', type: 'select', value: '', options: teamOptions(teams) },
        ],
        submitLabel: 'Invite',
        validate: (values, form) => {
          email = values.email.trim();
          if (!email) { ui.fieldError(form, 'email', 'Enter the email address of the person to invite.'); return false; }
          if (!/^[^\s@]+@[^\s@]+$/.test(email)) { ui.fieldError(form, 'email', 'Enter an email address like name@example.com.'); return false; }
          return true;
        },
        submit: (values) => {
          const body = { email, role: values.role };
          if (values.team_id) body.team_id = values.team_id;
          return post('/api/v1/users/invite', body);
        },
      });
      if (!answer || answer === true) return;
      clearProblem();
      reload();
      await showInviteLink(email, answer, 'Invitation created');
      const btn = document.querySelector('[data-action="invite"]');
      if (btn) btn.focus();
    }

    const inviteButton = canWrite
      ? ui.button('Invite member', invite, { variant: 'primary', 'data-action': 'invite' })
      : null;

    drawCards({});
    replace(listBox, ui.skeleton(6));
    reload();

    return h('div', { class: 'access-page' },
      ui.pageHeader('Users', 'People who can sign in to this organization, their roles and pending invitations.', inviteButton),
      alertBox,
      cardsBox,
      ui.section('Members', filters, listBox));
  },
};
