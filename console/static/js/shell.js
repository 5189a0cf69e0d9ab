// The frame around every signed-in page: header with the organization
// switcher, navigation, and the main region pages draw into.

import { h, replace } from './dom.js';
import * as session from './session.js';
import { api, get } from './api.js';
import { navigate } from './router.js';
import { notify } from './ui.js';

const NAV = [
  ['', [['Overview', '/ui/overview']]],
  ['Access', [['Users', '/ui/users', 'users:read'], ['Teams', '/ui/teams', 'teams:read'], ['API keys', '/ui/keys', 'keys:read']]],
  ['Gateway', [['Apps', '/ui/apps', 'apps:read'], ['Providers', '/ui/providers', 'providers:read'], ['Pricing', '/ui/pricing', 'pricing:read'],
    ['Model aliases', '/ui/aliases', 'aliases:read'], ['Guardrails', '/ui/guardrails', 'guardrails:read'], ['Webhooks', '/ui/webhooks', 'webhooks:read']]],
  ['Insight', [['Logs', '/ui/logs', 'logs:read'], ['Usage', '/ui/usage', 'usage:read'], ['Audit log', '/ui/audit', 'audit:read']]],
  ['Organization', [['Settings and plan', '/ui/settings']]],
];

let frame = null;

function navList(currentPath) {
  return h('nav', { class: 'nav', 'aria-label': 'Console' },
    NAV.map(([group, links]) => {
      const visible = links.filter(([, , perm]) => !perm || session.can(perm));
      if (!visible.length) return null;
      return h('div', { class: 'nav-group' },
        group ? h('p', { class: 'nav-heading' }, group) : null,
        h('ul', null, visible.map(([label, href]) => h('li', null,
          h('a', { href, 'aria-current': href === currentPath ? 'page' : undefined }, label)))));
    }));
}

async function switchOrg(orgId) {
  try {
    const answer = await api('POST', '/api/v1/auth/switch-org', { body: { org_id: orgId } });
    session.setToken(answer.token);
    frame = null;
    notify(`Switched to ${answer.org.name}`);
    navigate('/ui/overview');
  } catch (err) {
    notify(err.message, 'error');
  }
}

function orgSwitcher(me) {
  const select = h('select', { id: 'org-switch', 'aria-label': 'Switch organization' },
    h('option', { value: me.org.id, selected: true }, me.org.name));
  get('/api/v1/auth/orgs').then(({ orgs }) => {
    replace(select, orgs.map((o) => h('option', { value: o.id, selected: o.id === me.org.id }, `${o.name} (${o.role})`)));
  }).catch(() => {});
  select.addEventListener('change', () => { if (select.value !== me.org.id) switchOrg(select.value); });
  return select;
}

function topbar(me, sidebar) {
  const menuButton = h('button', {
    type: 'button', class: 'btn menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'sidebar',
  }, 'Menu');
  menuButton.addEventListener('click', () => {
    const open = menuButton.getAttribute('aria-expanded') !== 'true';
    menuButton.setAttribute('aria-expanded', String(open));
    sidebar.classList.toggle('open', open);
  });
  const header = h('header', { class: 'topbar' },
    menuButton,
    h('a', { href: '/ui/overview', class: 'brand' }, 'Gatehouse'),
    h('div', { class: 'topbar-org' }, orgSwitcher(me)),
    h('div', { class: 'topbar-user' },
      h('span', { class: 'user-name', title: me.user.email }, me.user.display_name || me.user.email),
      h('span', { class: 'badge' }, me.role),
      h('button', {
        type: 'button', class: 'btn', on: {
          click: () => { frame = null; session.signOut(); navigate('/ui/login'); },
        },
      }, 'Sign out')));
  return { header, menuButton };
}

// A renamed organization or a changed profile shows in the header at once.
session.onChange(() => {
  const me = session.current();
  if (!frame || !me) return;
  const next = topbar(me, frame.sidebar);
  frame.header.replaceWith(next.header);
  Object.assign(frame, next);
});

/** The main element of the signed-in frame, built once per session/org. */
export function mainRegion(currentPath) {
  const me = session.current();
  if (!frame) {
    const sidebar = h('div', { class: 'sidebar', id: 'sidebar' });
    const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
    const { header, menuButton } = topbar(me, sidebar);
    frame = { root: h('div', { class: 'layout' }, header, sidebar, main), main, sidebar, header, menuButton };
  }
  replace(frame.sidebar, navList(currentPath));
  frame.sidebar.classList.remove('open');
  frame.menuButton.setAttribute('aria-expanded', 'false');
  const app = document.getElementById('app');
  if (app.firstChild !== frame.root) replace(app, frame.root);
  return frame.main;
}

/** Forgets the frame (sign-out, org switch). */
export function resetFrame() { frame = null; }
