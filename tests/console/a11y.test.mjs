// The console is built for people: axe-core finds no serious problem on any
// page in light or dark mode, everything works from the keyboard with a
// visible focus, pages fit 320 px phones and 2560 px screens, nothing jumps
// while data loads, money, counts and times read as people expect, empty
// pages say what to do next and API errors land next to their field.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
  startGatehouse, signup, setPlan, request, expectOk, PROXY_ARGS, poll, hex,
} from '../api/harness.mjs';
import { startMockUpstream } from '../api/mock_upstream.mjs';
import { launch, notExpected, shots, settle, dialog } from './browser.mjs';

const AXE = fs.readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const MODEL = 'a11y-model';
const ZONE = 'America/New_York';

/** Every signed-in page: [navigation link, path, heading]. */
const PAGES = [
  ['Overview', '/ui/overview'],
  ['Users', '/ui/users'],
  ['Teams', '/ui/teams'],
  ['API keys', '/ui/keys'],
  ['Apps', '/ui/apps'],
  ['Providers', '/ui/providers'],
  ['Pricing', '/ui/pricing'],
  ['Model aliases', '/ui/aliases'],
  ['Guardrails', '/ui/guardrails'],
  ['Webhooks', '/ui/webhooks'],
  ['Logs', '/ui/logs'],
  ['Usage', '/ui/usage'],
  ['Audit log', '/ui/audit'],
  ['Settings and plan', '/ui/settings'],
];

let server;
let upstream;
let browser;
let full; // an enterprise org with a provider, prices, a team, an app, requests
let fresh; // an org as sign-up leaves it
let inviteToken;
const problems = [];

/**
 * A browser context and page; `token` signs it in before the first
 * navigation (sessionStorage, as the console keeps it).
 */
async function newPage({ token, width = 1280, colorScheme = 'light', bypassCSP = false, timezoneId } = {}) {
  const context = await browser.newContext({
    viewport: { width, height: 900 }, colorScheme, bypassCSP, timezoneId, locale: 'en-US',
  });
  if (token) {
    await context.addInitScript((t) => {
      try { if (location.protocol === 'http:') sessionStorage.setItem('gatehouse.session', t); } catch { /* about:blank */ }
    }, token);
  }
  const page = watch(await context.newPage());
  return { context, page };
}

/** Records what a page logs as an error. */
function watch(page) {
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.setDefaultTimeout(10_000);
  return page;
}

async function heading(page, name) {
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
}

/** Runs axe-core on the page; the serious and critical violations as text. */
async function axe(page, where) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 6) }));
  });
  return violations.map((v) => `${where}: ${v.id} (${v.impact}) at ${v.targets.join(', ')}`);
}

/** How far the document scrolls sideways (0 when it fits). */
function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

async function proxied(key, usage) {
  const res = await request(server.url, 'POST', '/v1/chat/completions', {
    key,
    headers: { 'x-gatehouse-provider': 'mock', 'x-mock-usage': usage },
    body: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] },
  });
  assert.equal(res.status, 200, res.text);
}

before(async () => {
  upstream = await startMockUpstream();
  server = await startGatehouse({ args: [...PROXY_ARGS] });
  browser = await launch();

  full = await signup(server, { password: 'correct-horse-1' });
  fresh = await signup(server);
  await setPlan(server, full.org.id, 'enterprise');
  const api = (method, p, body, status = 200) => request(server.url, method, p, { token: full.token, body })
    .then((res) => expectOk(res, status));
  await api('POST', '/api/v1/providers', { name: 'mock', base_url: upstream.url, auth_mode: 'api_key', api_key: 'sk-upstream-4242' }, 201);
  // $1 a token: 1,234 input tokens cost $1,234.00.
  await api('PUT', '/api/v1/pricing', { models: { [MODEL]: { input_per_mtok: 1_000_000, output_per_mtok: 0 } } });
  await api('POST', '/api/v1/teams', { name: 'Research', description: 'Models and evals', monthly_spend_limit_usd: 5000 }, 201);
  await api('POST', '/api/v1/apps', { name: 'Support bot', description: 'Answers tickets' }, 201);
  await proxied(full.apiKey, '1234,0');
  await proxied(full.apiKey, '0,0');
  const invited = await api('POST', '/api/v1/users/invite', { email: `ivy-${hex(3)}@example.com`, role: 'member' }, 201);
  inviteToken = invited.invite_token;
  await poll(async () => {
    const { logs } = expectOk(await request(server.url, 'GET', '/api/v1/logs', { token: full.token }));
    return logs.length === 2;
  }, { what: 'the two requests in the logs' });
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  await upstream?.close?.();
  assert.deepEqual(problems.filter(notExpected), [], 'no page logged an error');
});

/**
 * Every page at one width and colour scheme: axe-core finds nothing serious,
 * the document never scrolls sideways. The contexts that run axe bypass the
 * console's CSP: its script-src 'self' refuses the inline script that brings
 * axe in (the other tests keep the CSP).
 */
async function everyPage(colorScheme, width, prefix) {
  const found = [];
  const wide = [];
  const check = async (page, where, shot) => {
    await settle(page);
    const extra = await overflow(page);
    if (extra > 0) wide.push(`${where}: ${extra} px too wide`);
    found.push(...(await axe(page, where)));
    if (shot && prefix) await shots(page, `${prefix}${shot}`);
  };

  const anon = await newPage({ width, colorScheme, bypassCSP: true });
  try {
    const { page } = anon;
    await page.goto(`${server.url}/ui/login`);
    await heading(page, 'Sign in');
    await check(page, 'sign-in', 'login');
    await page.goto(`${server.url}/ui/signup`);
    await heading(page, 'Create an organization');
    // An API error on the form: the error's colours are checked too.
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.locator('.field-error:not(:empty), .form-error:not(:empty)').first().waitFor();
    await check(page, 'sign-up', 'signup');
    await page.goto(`${server.url}/ui/invite#token=${inviteToken}`);
    await heading(page, 'Accept invitation');
    await check(page, 'accept-invitation', 'invite');
  } finally {
    await anon.context.close();
  }

  const signedIn = await newPage({ token: full.token, width, colorScheme, bypassCSP: true });
  try {
    const { page } = signedIn;
    for (const [link, path] of PAGES) {
      await page.goto(server.url + path);
      await heading(page, link);
      await check(page, link, path.slice(4));
    }
    await page.goto(`${server.url}/ui/keys`);
    await heading(page, 'API keys');
    await settle(page);
    await page.getByRole('button', { name: 'New key' }).click();
    await dialog(page).getByLabel('Name').waitFor();
    await check(page, 'New key dialog');
    await page.keyboard.press('Escape');
    await dialog(page).waitFor({ state: 'detached' });
  } finally {
    await signedIn.context.close();
  }
  assert.deepEqual(wide, [], `no page scrolls sideways at ${width} px`);
  assert.deepEqual(found, [], `axe-core: no serious or critical violation in ${colorScheme} mode`);
}

test('light mode on a 2560 px screen: no serious axe-core violation, nothing scrolls sideways', async () => {
  await everyPage('light', 2560, '');
});

test('dark mode on a 320 px phone: no serious axe-core violation, nothing scrolls sideways, the menu opens the navigation', async () => {
  await everyPage('dark', 320, 'dark-');
  const { context, page } = await newPage({ token: full.token, width: 320, colorScheme: 'dark' });
  try {
    await page.goto(`${server.url}/ui/overview`);
    await heading(page, 'Overview');
    const nav = page.getByRole('navigation', { name: 'Console' });
    assert.equal(await nav.isVisible(), false, 'the navigation is folded away on a phone');
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.click();
    assert.equal(await menu.getAttribute('aria-expanded'), 'true');
    await nav.getByRole('link', { name: 'Usage', exact: true }).click();
    await heading(page, 'Usage');
    assert.equal(await nav.isVisible(), false, 'the menu folds after a choice');
    assert.ok((await overflow(page)) <= 0);
  } finally {
    await context.close();
  }
});

/** What has keyboard focus: its tag, text or label, and whether it shows. */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body', name: '' };
    const style = getComputedStyle(el);
    const label = el.labels && el.labels[0] ? el.labels[0].textContent : '';
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      name: (el.getAttribute('aria-label') || el.textContent || label || '').trim(),
      label: label.replace(/\s*\*$/, '').trim(),
      visible: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
        || style.boxShadow !== 'none',
    };
  });
}

/**
 * Presses Tab (Shift+Tab with back) until `want(focus)` holds; every stop on
 * the way must show its focus.
 */
async function tabTo(page, want, what, { back = false, max = 60 } = {}) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    assert.ok(f.visible, `a focused ${f.tag} "${f.name}" shows its focus (outline or shadow)`);
    if (want(f)) return f;
  }
  throw new Error(`${what} is not reachable with Tab`);
}

test('keyboard only: skip link, sign in, open a dialog with Enter and Space, submit, Escape returns focus', async () => {
  const { context, page } = await newPage();
  try {
    await page.goto(`${server.url}/ui/login`);
    await heading(page, 'Sign in');
    // The first Tab stop is the skip link; it moves focus to the main region.
    await page.keyboard.press('Tab');
    let f = await focused(page);
    assert.equal(f.name, 'Skip to content', 'the skip link is the first Tab stop');
    assert.ok(f.visible, 'the skip link shows its focus');
    assert.ok(await page.locator('.skip-link').isVisible(), 'the focused skip link is on screen');
    await page.keyboard.press('Enter');
    f = await focused(page);
    assert.equal(f.id, 'main', 'the skip link moves focus to the main region');

    await tabTo(page, (x) => x.label === 'Email', 'the email field');
    await page.keyboard.type(full.email);
    await tabTo(page, (x) => x.label === 'Password', 'the password field');
    await page.keyboard.type(full.password);
    await page.keyboard.press('Enter');
    await heading(page, 'Overview');

    // A signed-in page, loaded afresh: the skip link comes first too.
    await page.reload();
    await heading(page, 'Overview');
    await page.keyboard.press('Tab');
    assert.equal((await focused(page)).name, 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal((await focused(page)).id, 'main');

    // To the teams page through the navigation, from the top of the page.
    await tabTo(page, (x) => x.tag === 'a' && x.name === 'Teams', 'the Teams link', { back: true });
    await page.keyboard.press('Enter');
    await heading(page, 'Teams');
    await settle(page);
    await tabTo(page, (x) => x.name === 'New team', 'the New team button');
    await page.keyboard.press('Enter');
    const d = dialog(page);
    await d.waitFor();
    await tabTo(page, (x) => x.label === 'Name', 'the team name field');
    await page.keyboard.type('Keyboard crew');
    await tabTo(page, (x) => x.label === 'Description', 'the description field');
    await page.keyboard.type('Made without a mouse');
    await tabTo(page, (x) => x.name === 'Create', 'the Create button');
    await page.keyboard.press('Enter');
    await d.waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: 'Keyboard crew', exact: true }).waitFor();

    // Space opens it too; Escape closes it and focus goes back to the button.
    await tabTo(page, (x) => x.name === 'New team', 'the New team button', { back: true });
    await page.keyboard.press('Space');
    await d.waitFor();
    await page.keyboard.press('Escape');
    await d.waitFor({ state: 'detached' });
    f = await focused(page);
    assert.equal(f.name, 'New team', 'focus returns to the button that opened the dialog');
    assert.ok(f.visible, 'and shows there');
  } finally {
    await context.close();
  }
});

/** Sums the layout shifts of each document (none right after an input). */
function recordShifts() {
  window.__cls = 0;
  window.__shifts = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      window.__cls += e.value;
      window.__shifts.push({
        value: Math.round(e.value * 1000) / 1000,
        nodes: (e.sources || []).map((x) => (x.node && x.node.nodeType === 1
          ? `${x.node.tagName.toLowerCase()}.${x.node.className}` : String(x.node && x.node.nodeName))),
      });
    }
  }).observe({ type: 'layout-shift', buffered: true });
}

test('no layout jumps while pages load with slow API answers (CLS < 0.1 at 1280 and 320 px)', async () => {
  const results = [];
  for (const width of [1280, 320]) {
    const { context, page } = await newPage({ token: full.token, width });
    try {
      await context.addInitScript(recordShifts);
      await context.route('**/api/v1/**', (r) => setTimeout(() => r.continue().catch(() => {}), 400));
      // A few tabs at once: the answers are slow, the layouts independent.
      const tabs = [page, ...(await Promise.all([1, 2, 3].map(() => context.newPage().then(watch))))];
      const queue = [...PAGES];
      await Promise.all(tabs.map(async (tab) => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [link, path] = next;
          await tab.goto(server.url + path);
          await heading(tab, link);
          await settle(tab);
          await tab.waitForTimeout(150);
          const { cls, shifts } = await tab.evaluate(() => ({ cls: window.__cls, shifts: window.__shifts }));
          results.push({ page: `${link} ${width}`, cls: Math.round(cls * 1000) / 1000, shifts });
        }
      }));
    } finally {
      await context.close();
    }
  }
  console.log(`CLS per page: ${results.map((r) => `${r.page} px ${r.cls}`).join(', ')}`);
  const jumpy = results.filter((r) => r.cls >= 0.1);
  assert.deepEqual(jumpy, [], 'every page keeps its layout while it loads');
});

test('money in USD with cents and separators, counts with separators, times in the browser\'s zone with UTC on hover', async () => {
  const { context, page } = await newPage({ token: full.token, timezoneId: ZONE });
  try {
    await page.goto(`${server.url}/ui/overview`);
    await heading(page, 'Overview');
    await settle(page);
    const card = (label) => page.locator('.card').filter({ has: page.locator('.card-label', { hasText: label }) }).locator('.card-value');
    assert.equal(await card('Cost').innerText(), '$1,234.00');
    assert.equal(await card('Tokens').innerText(), '1,234');

    await page.goto(`${server.url}/ui/logs`);
    await heading(page, 'Logs');
    await settle(page);
    const { logs } = expectOk(await request(server.url, 'GET', '/api/v1/logs', { token: full.token }));
    const times = page.locator('main time');
    assert.ok((await times.count()) >= 2, 'the logs show their times');
    const first = times.first();
    const iso = await first.getAttribute('datetime');
    assert.ok(logs.some((l) => l.created_at === iso), 'the time is a log\'s');
    // The hour and minute of that instant in New York (never UTC's hour).
    const at = (timeZone) => Object.fromEntries(new Intl.DateTimeFormat('en-US', {
      month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', hour12: true, timeZone,
    }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
    const ny = at(ZONE);
    const shown = await first.innerText();
    assert.match(shown, new RegExp(`${ny.month} ${ny.day}\\b.*\\b0?${ny.hour}:${ny.minute}\\b.*${ny.dayPeriod}`),
      `${shown} is the time in ${ZONE}`);
    assert.notEqual(at('UTC').hour, ny.hour);
    const utc = `${new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
    assert.equal(await first.getAttribute('title'), utc, 'the UTC time on hover');
    assert.match(await page.getByRole('cell', { name: '$1,234.00' }).first().innerText(), /^\$1,234\.00$/);

    for (const path of ['/ui/keys', '/ui/users', '/ui/logs', '/ui/audit']) {
      await page.goto(server.url + path);
      await settle(page);
      const titles = await page.locator('time').evaluateAll((els) => els.map((e) => e.getAttribute('title') || ''));
      assert.ok(titles.length > 0, `${path} shows times`);
      for (const title of titles) assert.match(title, / UTC$/, `${path}: every time has its UTC title`);
    }
  } finally {
    await context.close();
  }
});

test('a new organization\'s empty pages say what to do next', async () => {
  const { context, page } = await newPage({ token: fresh.token });
  try {
    await page.goto(`${server.url}/ui/keys`);
    await heading(page, 'API keys');
    await settle(page);
    const names = await page.locator('main tbody tr td:first-child').evaluateAll((els) => els.map((e) => e.innerText.trim()));
    assert.deepEqual(names.map((n) => n.replace(/^Name\s*/, '').split('\n')[0]), ['Default'], 'only the first key');

    for (const [link, path] of [['Teams', '/ui/teams'], ['Apps', '/ui/apps'], ['Logs', '/ui/logs'], ['Usage', '/ui/usage']]) {
      await page.goto(server.url + path);
      await heading(page, link);
      await settle(page);
      const empty = page.locator('main .empty');
      await empty.first().waitFor();
      const text = (await empty.first().innerText()).replace(/\s+/g, ' ');
      const actions = await empty.first().locator('a[href], button').count();
      assert.ok(actions > 0, `${link}: the empty state offers a next step (“${text}”)`);
      assert.match(text, /\b(Create|Add|Send|Invite)\b/i, `${link}: the empty state says what to do`);
    }
    await shots(page, 'empty-usage');
  } finally {
    await context.close();
  }
});

test('API errors that name a field show next to that field', async () => {
  const { context, page } = await newPage({ token: full.token });
  try {
    await page.goto(`${server.url}/ui/teams`);
    await heading(page, 'Teams');
    await settle(page);
    await page.getByRole('button', { name: 'New team' }).first().click();
    let d = dialog(page);
    await d.getByLabel('Name').fill('Research');
    await d.getByRole('button', { name: 'Create' }).click();
    await d.locator('[data-field="name"] .field-error').filter({ hasText: /already/ }).waitFor();
    assert.equal(await d.getByLabel('Name').getAttribute('aria-invalid'), 'true');
    assert.equal(await d.locator('.form-error').innerText(), '', 'not at the top of the form');
    await d.getByRole('button', { name: 'Cancel' }).click();
    await d.waitFor({ state: 'detached' });

    await page.goto(`${server.url}/ui/providers`);
    await heading(page, 'Providers');
    await settle(page);
    await page.getByRole('button', { name: 'New provider' }).first().click();
    d = dialog(page);
    await d.getByLabel('Name').fill('internal');
    // A private address the server was not told to allow: refused by the API.
    await d.getByLabel('Base URL').fill('http://10.1.2.3/v1');
    await d.getByLabel('API key').fill('sk-internal-1');
    await d.getByRole('button', { name: 'Create' }).click();
    const error = d.locator('[data-field="base_url"] .field-error');
    await error.filter({ hasText: /./ }).waitFor();
    assert.doesNotMatch(await error.innerText(), /^field '/, 'without the field prefix');
    assert.equal(await d.getByLabel('Base URL').getAttribute('aria-invalid'), 'true');
    const described = await d.getByLabel('Base URL').getAttribute('aria-describedby');
    assert.ok(described.split(' ').includes(await error.getAttribute('id')), 'the control names its error');
  } finally {
    await context.close();
  }
});
