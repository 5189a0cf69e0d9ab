// The web console in Debian's headless Chromium against the real binary and
// a mock upstream: the flows an organization goes through, the colour of a
// team's budget bar after real proxied requests, what a viewer may see, and
// that text from the API never becomes HTML. Screenshots of every page at
// 1280 and 390 px go to $GATEHOUSE_SCREENSHOTS (build/screenshots).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGatehouse, setPlan, expectOk, request, PROXY_ARGS, poll, hex,
} from '../api/harness.mjs';
import { startMockUpstream } from '../api/mock_upstream.mjs';
import {
  XSS, launch, newPage as newBrowserPage, notExpected, shots, clickNav, open, settle, noXss, dialog,
} from './browser.mjs';


let server;
let upstream;
let browser;
let owner; // {context, page, problems}
const creds = { email: `ada-${hex(4)}@example.com`, password: 'correct-horse-1', slug: `acme-${hex(3)}` };
const state = {};

const newPage = (width = 1280) => newBrowserPage(browser, { width });

async function proxied(key, inputTokens, outputTokens = 0) {
  const res = await request(server.url, 'POST', '/v1/chat/completions', {
    key,
    headers: { 'x-gatehouse-provider': 'mock', 'x-mock-usage': `${inputTokens},${outputTokens}` },
    body: { model: 'console-test-model', messages: [{ role: 'user', content: 'hi' }] },
  });
  assert.equal(res.status, 200, res.text);
}

before(async () => {
  upstream = await startMockUpstream();
  server = await startGatehouse({ args: [...PROXY_ARGS] });
  browser = await launch();
  owner = await newPage();
});

after(async () => {
  if (owner) assert.deepEqual(owner.problems.filter(notExpected), [], 'the owner\'s page logged no errors');
  await browser?.close();
  await server?.dispose();
  await upstream?.close?.();
});

test('the console answers with its security headers', async () => {
  const res = await request(server.url, 'GET', '/');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-security-policy'], /script-src 'self';/);
  assert.match(res.headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(res.headers['x-frame-options'], 'DENY');
});

test('sign up, see the first key once, sign out, sign in', async () => {
  const { page } = owner;
  await page.goto(server.url + '/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await shots(page, 'login');
  await page.getByRole('link', { name: 'Create an organization' }).click();
  await page.getByLabel('Your name').fill(`Ada ${XSS}`);
  await page.getByLabel('Email').fill(creds.email);
  await page.getByLabel('Password').fill('short');
  await page.getByLabel('Organization name').fill('Acme Labs');
  assert.equal(await page.getByLabel('Organization slug').inputValue(), 'acme-labs', 'slug follows the name');
  await page.getByLabel('Organization slug').fill(creds.slug);
  await page.getByRole('button', { name: 'Create organization' }).click();
  // The API's field error lands next to the password.
  await page.locator('[data-field="password"] .field-error').filter({ hasText: /at least 8 characters/ }).waitFor();
  await page.getByLabel('Password').fill(creds.password);
  await page.getByRole('button', { name: 'Create organization' }).click();
  const key = await page.getByLabel('Your API key').inputValue();
  assert.match(key, /^sk-gate-[0-9a-f]{64}$/);
  await shots(page, 'signup-key');
  await page.getByRole('button', { name: 'Continue to the console' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  // The name with markup in it shows as text.
  await page.getByText(`Ada ${XSS}`).first().waitFor();
  await noXss(page);
  // The token is kept for this tab only.
  const stored = await page.evaluate(() => ({ local: { ...localStorage }, session: Object.keys(sessionStorage) }));
  assert.deepEqual(stored.local, {});
  assert.deepEqual(stored.session, ['gatehouse.session']);
  assert.ok(!page.url().includes('eyJ'), 'no token in the address');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), []);
  await page.getByLabel('Email').fill(creds.email);
  await page.getByLabel('Password').fill('wrong-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /email or password/i }).waitFor();
  await page.getByLabel('Password').fill(creds.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();

  // Enterprise, for budgets, cost and the audit log.
  const login = expectOk(await request(server.url, 'POST', '/api/v1/login', { body: { email: creds.email, password: creds.password } }));
  state.token = login.token;
  state.orgId = login.org.id;
  await setPlan(server, state.orgId, 'enterprise');
  expectOk(await request(server.url, 'PUT', '/api/v1/pricing', {
    token: state.token,
    body: { models: { 'console-test-model': { input_per_mtok: 1000, output_per_mtok: 0 } } },
  }));
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
});

test('create a provider, a team, an app and a key; the key is shown once', async () => {
  const { page } = owner;
  await open(page, 'Providers');
  await page.getByRole('button', { name: 'New provider' }).first().click();
  let d = dialog(page);
  await d.getByLabel('Name').fill('mock');
  await d.getByLabel('Base URL').fill(upstream.url);
  await d.getByLabel('API key').fill('sk-upstream-secret-7788');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'detached' });
  await page.getByText('•••• 7788').waitFor();
  assert.equal(await page.getByText('sk-upstream-secret-7788').count(), 0, 'the provider key is never shown');
  await shots(page, 'providers');

  await open(page, 'Teams');
  await page.getByRole('button', { name: 'New team' }).first().click();
  d = dialog(page);
  await d.getByLabel('Name').fill(`Research ${XSS}`);
  await d.getByLabel('Description').fill(`Models and evals ${XSS}`);
  await d.getByLabel('Monthly spend limit (USD)').fill('-5');
  await d.getByRole('button', { name: 'Create' }).click();
  // Refused next to the field, before anything is sent.
  await d.locator('[data-field="monthly_spend_limit_usd"] .field-error').filter({ hasText: /negative/ }).waitFor();
  const before = expectOk(await request(server.url, 'GET', '/api/v1/teams', { token: state.token }));
  assert.equal(before.teams.length, 0);
  await d.getByLabel('Monthly spend limit (USD)').fill('1');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'detached' });
  await page.getByText(`Research ${XSS}`).first().waitFor();
  await page.getByText(`Models and evals ${XSS}`).first().waitFor();
  await noXss(page);

  await open(page, 'Apps');
  await page.getByRole('button', { name: 'New app' }).first().click();
  d = dialog(page);
  await d.getByLabel('Name').fill(`Support bot ${XSS}`);
  await d.getByLabel('Description').fill(XSS);
  await d.getByLabel('Metadata (JSON)').fill('{"owner": ');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.locator('[data-field="metadata"] .field-error').filter({ hasText: /JSON/ }).waitFor();
  await d.getByLabel('Metadata (JSON)').fill('{"owner": "support"}');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'detached' });
  await page.getByText(`Support bot ${XSS}`).first().waitFor();
  await noXss(page);
  await shots(page, 'apps');

  await open(page, 'API keys');
  await page.getByRole('button', { name: 'New key' }).first().click();
  d = dialog(page);
  await d.getByLabel('Name').fill('ci-key');
  await d.getByLabel('Scopes').fill('provider:mock');
  await d.getByLabel('App').selectOption({ label: `Support bot ${XSS}` });
  await d.getByLabel('Team').selectOption({ label: `Research ${XSS}` });
  await d.getByLabel('Rate limit (requests per minute)').fill('600');
  await d.getByRole('button', { name: 'Create' }).click();
  d = dialog(page);
  state.rawKey = await d.getByLabel('API key').inputValue();
  assert.match(state.rawKey, /^sk-gate-[0-9a-f]{64}$/);
  await d.getByRole('button', { name: 'Copy' }).waitFor();
  await d.getByRole('button', { name: 'Done' }).click();
  await d.waitFor({ state: 'detached' });
  // Once: the list shows only the prefix.
  await page.getByRole('button', { name: 'Revoke ci-key' }).waitFor();
  assert.equal(await page.getByText(state.rawKey).count(), 0);
  assert.equal(await page.locator(`input[value="${state.rawKey}"]`).count(), 0);
  const keys = expectOk(await request(server.url, 'GET', '/api/v1/keys', { token: state.token })).keys;
  const ci = keys.find((k) => k.name === 'ci-key');
  assert.deepEqual(ci.scopes, ['provider:mock']);
  assert.ok(ci.app_id && ci.team_id);
  await shots(page, 'keys');
});

test('the team budget bar turns from green to yellow to red as proxied requests spend', async () => {
  const { page } = owner;
  const barStatus = async (want) => poll(async () => {
    await open(page, 'Teams');
    const bar = page.locator('.budget').first();
    return (await bar.getAttribute('data-status')) === want;
  }, { timeoutMs: 8000, intervalMs: 300, what: `the budget bar to be ${want}` });
  await open(page, 'Teams');
  await page.locator('.budget[data-status="green"]').waitFor();
  assert.equal(await page.locator('.budget').count(), 1);
  // $0.001 per input token against a $1 limit.
  await proxied(state.rawKey, 500); // 50 %
  await barStatus('green');
  await proxied(state.rawKey, 250); // 75 %
  await barStatus('yellow');
  await page.getByText('$0.75 of $1.00').first().waitFor();
  await proxied(state.rawKey, 200); // 95 %
  await barStatus('red');
  await page.getByText('$0.95 of $1.00').first().waitFor();
  await shots(page, 'teams');
});

test('rotate a key with an overlap, then revoke it', async () => {
  const { page } = owner;
  await open(page, 'API keys');
  await page.getByRole('button', { name: 'Rotate ci-key' }).click();
  let d = dialog(page);
  await d.getByLabel('Overlap (hours)').fill('1');
  await d.getByRole('button', { name: 'Rotate' }).click();
  d = dialog(page);
  const rotated = await d.getByLabel('API key').inputValue();
  assert.match(rotated, /^sk-gate-[0-9a-f]{64}$/);
  assert.notEqual(rotated, state.rawKey);
  await d.getByText(/keeps working until/).waitFor();
  await d.getByRole('button', { name: 'Done' }).click();
  await d.waitFor({ state: 'detached' });
  // Both secrets work during the overlap.
  for (const key of [state.rawKey, rotated]) {
    const res = await request(server.url, 'GET', '/v1/models', { key });
    assert.equal(res.status, 200, res.text);
  }
  await page.getByRole('button', { name: 'Revoke ci-key' }).first().click();
  d = dialog(page);
  await d.getByText(/refused from the next request/).waitFor();
  await d.getByRole('button', { name: 'Revoke' }).click();
  await d.waitFor({ state: 'detached' });
  await poll(async () => (await request(server.url, 'GET', '/v1/models', { key: rotated })).status === 401,
    { what: 'the revoked key to be refused' });
  await page.getByText('revoked').first().waitFor();
});

test('invite a member, who accepts in another browser; suspend and reactivate them', async () => {
  const { page } = owner;
  const email = `bob-${hex(3)}@example.com`;
  await open(page, 'Users');
  await page.getByRole('button', { name: 'Invite member' }).first().click();
  let d = dialog(page);
  await d.getByLabel('Email').fill(email);
  await d.getByLabel('Role', { exact: true }).selectOption('member');
  await d.getByLabel('Team').selectOption({ label: `Research ${XSS}` });
  await d.getByRole('button', { name: 'Invite' }).click();
  d = dialog(page);
  const link = await d.getByLabel('Invite link').inputValue();
  assert.match(link, new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/ui/invite#token=`));
  await d.getByRole('button', { name: 'Done' }).click();
  await d.waitFor({ state: 'detached' });
  await shots(page, 'users');
  // On a phone the header row is hidden: the order is chosen from a select.
  await page.setViewportSize({ width: 390, height: 900 });
  await page.getByLabel('Sort by').selectOption({ label: 'Email, A to Z' });
  await page.waitForURL(/sort=email&order=asc/);
  await poll(async () => {
    const emails = await page.locator('td[data-label="Email"]').allInnerTexts();
    return emails.length === 2 && emails[0].startsWith('ada-') && emails[1].startsWith('bob-');
  }, { what: 'members sorted by email' });
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.equal(await page.getByLabel('Sort by').isVisible(), false, 'the table header sorts on a wide screen');

  const bob = await newPage(390);
  try {
    await bob.page.goto(link);
    await bob.page.getByRole('heading', { name: 'Accept invitation' }).waitFor();
    assert.ok(!bob.page.url().includes('token'), 'the token leaves the address bar');
    await shots(bob.page, 'invite');
    await bob.page.getByLabel('Your name').fill('Bob');
    await bob.page.getByLabel('Password').fill('bobs-password-1');
    await bob.page.getByRole('button', { name: 'Join organization' }).click();
    await bob.page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await shots(bob.page, 'member-overview');

    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await page.getByRole('button', { name: `Suspend ${email}` }).click();
    await dialog(page).getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('button', { name: `Reactivate ${email}` }).waitFor();
    // Bob's next request ends his session.
    await clickNav(bob.page, 'API keys');
    await bob.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await bob.page.getByText('Your membership is suspended.').waitFor();

    await page.getByRole('button', { name: `Reactivate ${email}` }).click();
    await dialog(page).getByRole('button', { name: 'Reactivate' }).click();
    await page.getByRole('button', { name: `Suspend ${email}` }).waitFor();
    await bob.page.getByLabel('Email').fill(email);
    await bob.page.getByLabel('Password').fill('bobs-password-1');
    await bob.page.getByRole('button', { name: 'Sign in' }).click();
    await bob.page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    assert.deepEqual(bob.problems.filter(notExpected), []);
  } finally {
    await bob.context.close();
  }
});

test('filter logs, open a request, view usage, the audit log, the overview and the settings', async () => {
  const { page } = owner;
  await open(page, 'Logs');
  await settle(page);
  const filters = page.getByRole('form', { name: 'Log filters' });
  await filters.getByLabel('Model').fill('console-test-model');
  await filters.getByLabel('Status', { exact: true }).fill('200');
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForURL(/model=console-test-model/);
  assert.match(page.url(), /status=200/);
  await settle(page);
  await poll(async () => (await page.getByRole('button', { name: /^Details / }).count()) === 3,
    { what: 'the three proxied requests' });
  // The filters survive a reload: they live in the address.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Logs' }).waitFor();
  assert.equal(await page.getByRole('form', { name: 'Log filters' }).getByLabel('Model').inputValue(), 'console-test-model');
  await poll(async () => (await page.getByRole('button', { name: /^Details / }).count()) === 3,
    { what: 'the same three requests after a reload' });
  await shots(page, 'logs');
  await page.getByRole('button', { name: /^Details / }).first().click();
  const d = dialog(page);
  await d.getByText('console-test-model').first().waitFor();
  await shots(page, 'log-detail');
  await d.getByRole('button', { name: 'Close' }).click();
  await d.waitFor({ state: 'detached' });
  await filters.getByLabel('Model').fill('no-such-model');
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText('No requests match these filters.').waitFor();

  await open(page, 'Usage');
  await page.getByLabel('Group by').selectOption('model');
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await settle(page);
  const row = page.getByRole('row').filter({ hasText: 'console-test-model' }).first();
  await row.waitFor();
  assert.match(await row.innerText(), /\$0\.95/);
  await shots(page, 'usage');

  await open(page, 'Audit log');
  await settle(page);
  await page.getByRole('cell', { name: 'key.revoke' }).first().waitFor();
  await page.getByRole('cell', { name: 'member.suspend' }).first().waitFor();
  await shots(page, 'audit');

  await open(page, 'Overview');
  await settle(page);
  await page.getByText('$0.95').first().waitFor();
  await shots(page, 'overview');

  await open(page, 'Pricing');
  await settle(page);
  await page.getByText('console-test-model').first().waitFor();
  await shots(page, 'pricing');

  await open(page, 'Settings and plan');
  await settle(page);
  await page.getByText(/enterprise/i).first().waitFor();
  await shots(page, 'settings');
  await noXss(page);
});

test('a viewer sees every page and no action that changes anything', async () => {
  const email = `vera-${hex(3)}@example.com`;
  const invited = expectOk(await request(server.url, 'POST', '/api/v1/users/invite', {
    token: state.token, body: { email, role: 'viewer' },
  }), 201);
  expectOk(await request(server.url, 'POST', '/api/v1/invites/accept', {
    body: { invite_token: invited.invite_token, password: 'viewers-password-1', display_name: 'Vera' },
  }));
  const vera = await newPage();
  try {
    const { page } = vera;
    await page.goto(`${server.url}/ui/keys`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('viewers-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back to the page asked for.
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Console' });
    assert.equal(await nav.getByRole('link', { name: 'Audit log' }).count(), 0, 'viewers have no audit:read');
    const mutating = /^(New|Invite|Edit|Delete|Revoke|Rotate|Suspend|Reactivate|Resend|Change role|Make default|Create|Add|Save|Remove|Override|Activate|Deactivate)\b/;
    for (const link of ['Overview', 'Users', 'Teams', 'API keys', 'Apps', 'Providers', 'Pricing', 'Logs', 'Usage', 'Settings and plan']) {
      await open(page, link);
      await settle(page);
      const names = await page.getByRole('button').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') || e.textContent.trim()));
      assert.deepEqual(names.filter((n) => mutating.test(n)), [], `${link}: no mutating action for a viewer`);
      assert.equal(await page.locator('[role="switch"]:not([disabled]):not([aria-disabled="true"])').count(), 0, `${link}: no switch`);
      if (link === 'Teams') await page.getByText(`Research ${XSS}`).first().waitFor();
    }
    await shots(page, 'viewer-teams');
    await noXss(page);
    assert.deepEqual(vera.problems.filter(notExpected), []);
  } finally {
    await vera.context.close();
  }
});

test('switch to another organization of the same account and back', async () => {
  const { page } = owner;
  // Signing up again with the same account adds an organization.
  const second = expectOk(await request(server.url, 'POST', '/api/v1/signup', {
    body: { email: creds.email, password: creds.password, org_slug: `beta-${hex(3)}`, org_name: 'Beta Works', display_name: 'Ada' },
  }), 201);
  await page.reload();
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  const switcher = page.getByRole('combobox', { name: 'Switch organization' });
  await poll(async () => (await switcher.locator('option').count()) === 2, { what: 'both organizations listed' });
  await switcher.selectOption({ label: 'Beta Works (owner)' });
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await page.getByText('Beta Works this month', { exact: false }).first().waitFor();
  assert.equal(await switcher.inputValue(), second.org.id);
  // The other organization's teams are not here.
  await open(page, 'Teams');
  await settle(page);
  assert.equal(await page.getByText(`Research ${XSS}`).count(), 0);
  await switcher.selectOption({ label: 'Acme Labs (owner)' });
  await page.getByText('Acme Labs this month', { exact: false }).first().waitFor();
  await open(page, 'Teams');
  await page.getByText(`Research ${XSS}`).first().waitFor();
});

test('deactivate an app, activate it, then delete it with its cascade spelled out', async () => {
  const { page } = owner;
  const appName = `Support bot ${XSS}`;
  const apps = expectOk(await request(server.url, 'GET', '/api/v1/apps', { token: state.token })).apps;
  const app = apps.find((a) => a.name === appName);
  const made = expectOk(await request(server.url, 'POST', '/api/v1/keys', {
    token: state.token, body: { name: 'bot-key', app_id: app.id },
  }), 201);
  const call = async () => (await request(server.url, 'GET', '/v1/models', { key: made.raw_key })).status;
  assert.equal(await call(), 200);

  await open(page, 'Apps');
  const toggle = page.getByRole('switch', { name: `Active ${appName}` });
  assert.equal(await toggle.getAttribute('aria-checked'), 'true');
  await toggle.click();
  await dialog(page).getByText(/403 app_inactive/).waitFor();
  await dialog(page).getByRole('button', { name: 'Deactivate' }).click();
  await poll(async () => (await toggle.getAttribute('aria-checked')) === 'false', { what: 'the switch to show inactive' });
  await poll(async () => (await call()) === 403, { what: 'the app\'s key to be refused' });
  await toggle.click();
  await dialog(page).getByRole('button', { name: 'Activate' }).click();
  await poll(async () => (await call()) === 200, { what: 'the app\'s key to be accepted again' });

  await page.getByRole('button', { name: `Delete ${appName}` }).click();
  const d = dialog(page);
  // ci-key (revoked) and bot-key; the three proxied requests.
  await d.getByText('deletes 2 API keys and 3 request logs; the audit log keeps the deletion.', { exact: false }).waitFor();
  await d.getByRole('button', { name: 'Delete' }).click();
  await d.waitFor({ state: 'detached' });
  await poll(async () => (await page.getByRole('button', { name: `Delete ${appName}` }).count()) === 0, { what: 'the app to leave the list' });
  assert.equal(await call(), 401, 'its keys went with it');
  await noXss(page);
});

test('an organization at work, for the documentation: three teams at three budget colours', async () => {
  const s = expectOk(await request(server.url, 'POST', '/api/v1/signup', {
    body: { email: `lin-${hex(3)}@example.com`, password: 'northwind-pass-1', org_slug: `northwind-${hex(3)}`, org_name: 'Northwind AI', display_name: 'Lin Park' },
  }), 201);
  const token = s.token;
  const call = async (method, p, body, want = 200) => expectOk(await request(server.url, method, p, { token, body }), want);
  await setPlan(server, s.org.id, 'enterprise');
  await call('PUT', '/api/v1/pricing', { models: { 'console-test-model': { input_per_mtok: 1000, output_per_mtok: 2000 } } });
  await call('POST', '/api/v1/providers', { name: 'mock', base_url: upstream.url, api_key: 'sk-upstream-showcase-0001' }, 201);
  const app = await call('POST', '/api/v1/apps', { name: 'Support assistant', env: 'prod' }, 201);
  await call('POST', '/api/v1/apps', { name: 'Research notebook', env: 'dev' }, 201);
  const teams = [['Platform', 'Shared services and tooling', 2, 0.6], ['Support', 'Customer-facing assistant', 1, 0.78], ['Research', 'Model evaluations', 0.5, 0.47]];
  for (const [name, description, limit, spend] of teams) {
    const team = await call('POST', '/api/v1/teams', { name, description, monthly_spend_limit_usd: limit }, 201);
    const key = await call('POST', '/api/v1/keys', { name: `${name.toLowerCase()}-prod`, team_id: team.id, app_id: app.id }, 201);
    // $0.001 per input token, $0.002 per output token.
    for (let i = 0; i < 4; i++) await proxied(key.raw_key, Math.round((spend * 1000) / 8), Math.round((spend * 1000) / 16));
  }
  const viewer = await newPage();
  try {
    await viewer.context.addInitScript((t) => sessionStorage.setItem('gatehouse.session', t), token);
    await viewer.page.goto(`${server.url}/ui/teams`);
    await viewer.page.getByRole('heading', { level: 1, name: 'Teams' }).waitFor();
    await settle(viewer.page);
    const colours = await viewer.page.locator('.budget').evaluateAll((els) => els.map((e) => e.dataset.status));
    assert.deepEqual(colours.sort(), ['green', 'red', 'yellow']);
    await shots(viewer.page, 'showcase-teams');
    await open(viewer.page, 'Overview');
    await settle(viewer.page);
    await shots(viewer.page, 'showcase-overview');
    await open(viewer.page, 'API keys');
    await settle(viewer.page);
    await shots(viewer.page, 'showcase-keys');
    assert.deepEqual(viewer.problems.filter(notExpected), []);
  } finally {
    await viewer.context.close();
  }
});
