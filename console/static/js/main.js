// Boots the console: registers the pages, checks the session, draws.

import { replace, h } from './dom.js';
import * as session from './session.js';
import { loadProfile, setUnauthorizedHandler } from './api.js';
import { register, start, findPage, navigate } from './router.js';
import { mainRegion, resetFrame } from './shell.js';
import { errorBox, notify } from './ui.js';

import login from './pages/login.js';
import signup from './pages/signup.js';
import invite from './pages/invite.js';
import overview from './pages/overview.js';
import users from './pages/users.js';
import teams from './pages/teams.js';
import keys from './pages/keys.js';
import apps from './pages/apps.js';
import providers from './pages/providers.js';
import pricing from './pages/pricing.js';
import logs from './pages/logs.js';
import usage from './pages/usage.js';
import audit from './pages/audit.js';
import settings from './pages/settings.js';
import aliases from './pages/aliases.js';
import guardrails from './pages/guardrails.js';
import webhooks from './pages/webhooks.js';

const PUBLIC = [login, signup, invite];
const PRIVATE = [overview, users, teams, keys, apps, providers, pricing, aliases, guardrails, webhooks, logs, usage, audit, settings];

let generation = 0;

async function draw(url) {
  const mine = ++generation;
  const app = document.getElementById('app');
  app.removeAttribute('aria-busy');
  let path = url.pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/ui') path = session.signedIn() ? '/ui/overview' : '/ui/login';
  const page = findPage(path);
  const ctx = { url, params: url.searchParams, navigate, session };
  if (page && page.public) {
    resetFrame();
    document.title = `${page.title} · Gatehouse`;
    replace(app, await page.render(ctx));
    focusTitle();
    return;
  }
  if (!session.signedIn()) {
    navigate(`/ui/login?next=${encodeURIComponent(url.pathname + url.search)}`, { replace: true });
    return;
  }
  if (!session.current()) {
    try {
      const { me, ents } = await loadProfile();
      session.setProfile(me, ents);
    } catch (err) {
      if (err.status === 401 || err.status === 403) return; // signed out by the handler below
      replace(app, h('main', { class: 'main', id: 'main', tabindex: '-1' }, errorBox(err)));
      return;
    }
  }
  if (mine !== generation) return;
  const main = mainRegion(path);
  if (!page) {
    document.title = 'Not found · Gatehouse';
    replace(main, h('h1', { id: 'page-title', tabindex: '-1' }, 'No such page'),
      h('p', null, 'The console has no page at this address. ', h('a', { href: '/ui/overview' }, 'Go to the overview'), '.'));
    focusTitle();
    return;
  }
  document.title = `${page.title} · Gatehouse`;
  try {
    const node = await page.render(ctx);
    if (mine !== generation) return;
    replace(main, node);
  } catch (err) {
    replace(main, errorBox(err));
  }
  focusTitle();
}

// Focus moves to a page's title once the user has moved through the console;
// a page just loaded keeps it at the top, where the skip link is the first
// Tab stop.
let interacted = false;
for (const type of ['keydown', 'pointerdown']) {
  document.addEventListener(type, () => { interacted = true; }, { capture: true, once: true });
}

function focusTitle() {
  const title = document.getElementById('page-title');
  if (title && interacted) title.focus({ preventScroll: true });
}

// The skip link focuses the main region itself: a fragment in the address
// would redraw the page.
document.querySelector('.skip-link')?.addEventListener('click', (ev) => {
  const target = document.getElementById('main');
  if (!target) return;
  ev.preventDefault();
  target.focus();
});

setUnauthorizedHandler((err) => {
  if (!session.signedIn()) return; // the first refusal already signed out
  resetFrame();
  session.signOut();
  notify(err.code === 'user_suspended' ? 'Your membership is suspended.' : 'Your session ended. Please sign in again.', 'error');
  navigate('/ui/login', { replace: true });
});

register([...PUBLIC, ...PRIVATE], draw);
start();
