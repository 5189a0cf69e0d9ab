// Teams: groups of members and keys with a monthly spend and, on plans with
// budget controls, a hard monthly limit.

import { h, replace } from '../dom.js';
import { get, post, put, del, ApiError } from '../api.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';
import * as session from '../session.js';

const SEARCH_DELAY_MS = 300;
const LIMIT = 'monthly_spend_limit_usd';

function keepInUrl(q) {
  history.replaceState(null, '', q ? `/ui/teams?${new URLSearchParams({ q })}` : '/ui/teams');
}

/** The form fields of a team; `team` fills them when editing. */
function teamFields(team) {
  const budgets = session.entitled('budget_controls');
  return [
    { name: 'name', label: 'Name', required: true, value: team ? team.name : '', placeholder: 'e.g. Engineering', autocomplete: 'off' },
    { name: 'description', label: 'Description', type: 'textarea', rows: 3, value: team ? team.description : '', placeholder: 'What the team does' },
    {
      name: LIMIT, label: 'Monthly spend limit (USD)', type: 'number', min: 0, step: 0.01, inputmode: 'decimal',
      value: team && team[LIMIT] !== null && team[LIMIT] !== undefined ? team[LIMIT] : '',
      disabled: !budgets,
      hint: budgets
        ? 'A hard cap: once the team has spent this much in the calendar month (UTC), its keys get 429 budget_exceeded. Leave empty for no limit.'
        : 'Spend limits need the Enterprise plan (budget controls). The team still tracks its spend.',
    },
  ];
}

/** Refuses a negative or unreadable limit next to its field. */
function validateTeam(values, form) {
  let ok = true;
  if (!values.name || !values.name.trim()) {
    ui.fieldError(form, 'name', 'Enter a name for the team.');
    ok = false;
  }
  if (session.entitled('budget_controls')) {
    const control = form.querySelector(`[name="${LIMIT}"]`);
    if (control && control.validity.badInput) {
      ui.fieldError(form, LIMIT, 'Enter an amount in USD, such as 250 or 99.50, or leave it empty.');
      ok = false;
    } else if (values[LIMIT] !== null && values[LIMIT] < 0) {
      ui.fieldError(form, LIMIT, 'The limit cannot be negative. Enter 0 or more, or leave it empty for no limit.');
      ok = false;
    }
  }
  return ok;
}

/** Sends a team; a duplicate name is reported next to the name field. */
async function saveTeam(send) {
  try {
    return await send();
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && !err.field) {
      throw new ApiError(409, err.code, "field 'name': another team already has this name");
    }
    throw err;
  }
}

function teamBody(values) {
  const body = { name: values.name.trim(), description: values.description.trim() };
  // Without budget controls the field is disabled and left out of the body.
  if (session.entitled('budget_controls')) body[LIMIT] = values[LIMIT];
  return body;
}

function keyList(keys) {
  if (!keys || !keys.length) return h('span', { class: 'muted' }, 'No API keys are assigned to this team.');
  return h('ul', { class: 'access-keys' }, keys.map((k) => h('li', null,
    h('span', { class: 'access-key-name' }, k.name), ' ',
    h('code', null, `${k.key_prefix}…`), ' ',
    ui.statusBadge(k.status))));
}

export default {
  path: '/ui/teams',
  title: 'Teams',

  async render(ctx) {
    let q = (ctx.params.get('q') || '').slice(0, 200);
    const canWrite = session.can('teams:write');

    const alertBox = h('div', { class: 'access-alert', role: 'alert', hidden: true });
    const showProblem = (err) => {
      replace(alertBox, h('p', null, err && err.message ? err.message : String(err)),
        ui.button('Dismiss', () => { alertBox.hidden = true; replace(alertBox); }, { class: 'btn small' }));
      alertBox.hidden = false;
    };
    const clearProblem = () => { alertBox.hidden = true; replace(alertBox); };

    const cardsBox = h('div', { class: 'access-cards' });
    const listBox = h('div', { class: 'access-list', 'aria-live': 'polite' });

    const search = ui.field({ name: 'q', label: 'Search teams', type: 'search', value: q, placeholder: 'Team name' });
    let timer = null;
    const applySearch = () => {
      clearTimeout(timer);
      q = search.control.value.trim();
      keepInUrl(q);
      reload();
    };
    search.control.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(applySearch, SEARCH_DELAY_MS);
    });
    const toolbar = h('form', {
      class: 'toolbar access-toolbar', role: 'search', 'aria-label': 'Find teams',
      on: { submit: (ev) => { ev.preventDefault(); applySearch(); } },
    }, search);

    const columns = [
      { key: 'name', label: 'Name', render: (t) => h('span', { class: 'access-name' }, t.name) },
      {
        key: 'description', label: 'Description',
        render: (t) => (t.description ? h('span', { class: 'access-desc', title: t.description }, t.description) : h('span', { class: 'muted' }, '—')),
      },
      { key: 'member_count', label: 'Members', align: 'right', render: (t) => fmt.count(t.member_count) },
      { key: 'monthly_spend_usd', label: 'Spend (month)', align: 'right', render: (t) => fmt.usd(t.monthly_spend_usd) },
      { key: 'monthly_requests', label: 'Requests (month)', align: 'right', render: (t) => fmt.count(t.monthly_requests) },
      { key: 'budget', label: 'Budget', render: (t) => ui.budgetBar(t.budget, t.monthly_spend_usd, t[LIMIT]) },
    ];
    if (canWrite) columns.push({ key: 'actions', label: 'Actions', render: (t) => rowActions(t) });

    function expand(t) {
      const box = h('div', { class: 'access-detail' });
      ui.fill(box, async () => {
        const team = await get(`/api/v1/teams/${encodeURIComponent(t.id)}`);
        return ui.details([
          ['Description', team.description || h('span', { class: 'muted' }, 'None')],
          ['Spend limit', team[LIMIT] === null || team[LIMIT] === undefined
            ? h('span', { class: 'muted' }, 'No limit') : `${fmt.usd(team[LIMIT])} a month`],
          team.budget ? ['Budget used', `${fmt.pct(team.budget.used_pct)} (${team.budget.status})`] : null,
          ['Members', fmt.count(team.member_count)],
          ['Created', ui.time(team.created_at)],
          ['API keys', keyList(team.api_keys)],
        ]);
      }, { lines: 3 });
      return box;
    }

    function drawCards(summary) {
      replace(cardsBox, ui.cards([
        { label: 'Total teams', value: fmt.count(summary.total_teams) },
        { label: 'Total members', value: fmt.count(summary.total_members), hint: 'Members assigned to a team' },
        { label: 'Monthly spend', value: fmt.usd(summary.monthly_spend_usd), hint: 'This calendar month (UTC)' },
        { label: 'Monthly requests', value: fmt.count(summary.monthly_requests) },
      ]));
    }

    function emptyList() {
      if (q) {
        return ui.emptyState(`No team name contains “${q}”.`, 'Try another search.',
          ui.button('Clear search', () => { search.control.value = ''; applySearch(); search.control.focus(); }));
      }
      return ui.emptyState('No teams yet.',
        canWrite ? 'Create one to group members and keys and to follow their monthly spend.'
          : 'An admin can create teams to group members and keys.',
        canWrite ? ui.button('New team', createTeam, { variant: 'primary' }) : null);
    }

    const redraw = ui.reloader(listBox);
    function reload({ focus } = {}) {
      return redraw(async (stale) => {
        // The cards always describe the whole organization, the table the search.
        const [all, found] = await Promise.all([
          get('/api/v1/teams'),
          q ? get('/api/v1/teams', { q }) : null,
        ]);
        if (stale()) return null;
        drawCards(all.summary || {});
        return ui.table({
          columns,
          rows: (found || all).teams,
          caption: 'Teams of this organization',
          expand,
          rowLabel: (t) => t.name,
          empty: emptyList(),
        });
      }, focus);
    }

    function refreshAfter(label) {
      return reload({
        focus: () => (label && listBox.querySelector(`[aria-label="${CSS.escape(label)}"]`))
          || document.getElementById('page-title'),
      });
    }

    async function createTeam() {
      clearProblem();
      const team = await ui.formDialog('New team', {
        fields: teamFields(null),
        submitLabel: 'Create',
        validate: validateTeam,
        submit: (values) => saveTeam(() => post('/api/v1/teams', teamBody(values))),
      });
      if (team && team !== true) {
        ui.notify(`Team ${team.name} created.`);
        await refreshAfter(`Edit ${team.name}`);
      }
    }

    async function editTeam(t) {
      clearProblem();
      const team = await ui.formDialog(`Edit team ${t.name}`, {
        fields: teamFields(t),
        submitLabel: 'Save',
        validate: validateTeam,
        submit: (values) => saveTeam(() => put(`/api/v1/teams/${encodeURIComponent(t.id)}`, teamBody(values))),
      });
      if (team && team !== true) {
        ui.notify(`Team ${team.name} saved.`);
        await refreshAfter(`Edit ${team.name}`);
      }
    }

    async function removeTeam(t) {
      clearProblem();
      const members = Number(t.member_count) || 0;
      let who = `Its ${fmt.count(members)} members`;
      if (members === 1) who = 'Its one member';
      if (members === 0) who = 'Its members (none now)';
      const ok = await ui.confirm(`Delete team ‘${t.name}’?`, [
        h('p', null, `${who} and the API keys assigned to it are unassigned: they stay in the organization `
          + 'and keep working, without a team or its budget.'),
        h('p', null, 'This cannot be undone.'),
      ], { confirmLabel: 'Delete' });
      if (!ok) return;
      try {
        await del(`/api/v1/teams/${encodeURIComponent(t.id)}`);
        ui.notify(`Team ${t.name} deleted.`);
      } catch (err) {
        showProblem(err);
      }
      await refreshAfter('');
    }

    function rowActions(t) {
      return h('div', { class: 'row-actions' },
        ui.button('Edit', () => editTeam(t), { class: 'btn small', 'aria-label': `Edit ${t.name}` }),
        ui.button('Delete', () => removeTeam(t), { class: 'btn small danger', 'aria-label': `Delete ${t.name}` }));
    }

    drawCards({});
    replace(listBox, ui.skeleton(5));
    reload();

    return h('div', { class: 'access-page' },
      ui.pageHeader('Teams', 'Teams group members and API keys so their monthly spend can be followed and capped.',
        canWrite ? ui.button('New team', createTeam, { variant: 'primary' }) : null),
      alertBox,
      cardsBox,
      ui.section('All teams', toolbar, listBox));
  },
};
