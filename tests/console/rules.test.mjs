// The console's model aliases, guardrails and response cache against the
// real binary and a mock upstream: what an admin sets in the browser changes
// what the gateway does to proxied requests, a free organization is told
// what it lacks, a viewer finds nothing to change, and names with markup in
// them stay text. Screenshots go to $GATEHOUSE_SCREENSHOTS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startGatehouse, signup, setPlan, request, expectOk, PROXY_ARGS,
} from '../api/harness.mjs';
import { startMockUpstream } from '../api/mock_upstream.mjs';
import {
  XSS, launch, newPage as newBrowserPage, notExpected, shots, settle, noXss, dialog,
} from './browser.mjs';

/** Alias names may not hold spaces: markup that needs none. */
const XSS_ALIAS = '<img/src="x"/onerror="window.__xss=1">';

let server;
let upstream;
let browser;
let ent; // an enterprise org with the mock provider and a key
let free; // an org on the free plan
let viewer; // a viewer of the enterprise org
let admin; // {context, page, problems} signed in as ent's owner
const opened = [];

/** A page signed in with `token` before the first navigation. */
async function signedIn(token, width = 1280) {
  const p = await newBrowserPage(browser, { width });
  await p.context.addInitScript((t) => {
    try { if (location.protocol === 'http:') sessionStorage.setItem('gatehouse.session', t); } catch { /* about:blank */ }
  }, token);
  opened.push(p);
  return p;
}

async function go(page, path, title) {
  await page.goto(server.url + path);
  await page.getByRole('heading', { level: 1, name: title, exact: true }).waitFor();
  await settle(page);
}

/** A chat request through the gateway with the org's key. */
function chat(content, { model = 'console-model', headers = {} } = {}) {
  return request(server.url, 'POST', '/v1/chat/completions', {
    key: ent.apiKey,
    headers,
    body: { model, messages: [{ role: 'user', content }] },
  });
}

const entApi = (method, p, body) => request(server.url, method, p, { token: ent.token, body });

before(async () => {
  upstream = await startMockUpstream();
  server = await startGatehouse({ args: [...PROXY_ARGS] });
  browser = await launch();
  ent = await signup(server);
  free = await signup(server);
  await setPlan(server, ent.org.id, 'enterprise');
  expectOk(await entApi('POST', '/api/v1/providers', {
    name: 'mock', base_url: upstream.url, auth_mode: 'api_key', api_key: 'sk-upstream-5151',
  }), 201);
  const invited = expectOk(await entApi('POST', '/api/v1/users/invite', {
    email: `viv-${ent.slug}@example.com`, role: 'viewer',
  }), 201);
  viewer = expectOk(await request(server.url, 'POST', '/api/v1/invites/accept', {
    body: { invite_token: invited.invite_token, password: 'viewers-password-1', display_name: 'Viv' },
  }));
  admin = await signedIn(ent.token);
});

after(async () => {
  for (const p of opened) {
    assert.deepEqual(p.problems.filter(notExpected), [], 'no page logged an error');
  }
  await browser?.close();
  await server?.dispose();
  await upstream?.close?.();
});

test('an alias made in the console renames the model sent upstream', async () => {
  const { page } = admin;
  await go(page, '/ui/aliases', 'Model aliases');
  await page.getByText('No aliases yet.').waitFor();
  await page.getByRole('button', { name: 'New alias' }).click();
  let d = dialog(page);
  await d.getByText(/replaces the stored table/).waitFor();
  await d.getByLabel('Alias').fill('fast');
  await d.getByLabel('Target model').fill('fast');
  await d.getByRole('button', { name: 'Create' }).click();
  // Refused next to the field before anything is sent.
  await d.locator('[data-field="target"] .field-error').filter({ hasText: /cannot name itself/ }).waitFor();
  await d.getByLabel('Target model').fill('mock/console-model');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'detached' });
  await page.getByRole('cell', { name: 'fast', exact: true }).waitFor();
  assert.deepEqual(expectOk(await entApi('GET', '/api/v1/aliases')).aliases, { fast: 'mock/console-model' });

  const res = await chat('hello', { model: 'fast' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['x-gatehouse-model'], 'console-model');
  assert.equal(upstream.lastRequest().json.model, 'console-model', 'the upstream got the target');

  // The API's own refusal lands next to the target: aliases do not chain.
  await page.getByRole('button', { name: 'New alias' }).click();
  d = dialog(page);
  await d.getByLabel('Alias').fill('quick');
  await d.getByLabel('Target model').fill('fast');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.locator('[data-field="target"] .field-error').filter({ hasText: /do not chain/ }).waitFor();
  // A name with markup in it.
  await d.getByLabel('Alias').fill(XSS_ALIAS);
  await d.getByLabel('Target model').fill('mock/other-model');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'detached' });
  await page.getByText(XSS_ALIAS, { exact: true }).waitFor();
  await noXss(page);
  assert.deepEqual(Object.keys(expectOk(await entApi('GET', '/api/v1/aliases')).aliases).sort(), [XSS_ALIAS, 'fast'].sort());
  await shots(page, 'aliases');
});

test('guardrail rules made in the console block and redact proxied requests', async () => {
  const { page } = admin;
  await go(page, '/ui/guardrails', 'Guardrails');
  await page.getByText('No rules yet.').waitFor();

  await page.getByRole('button', { name: 'New rule' }).click();
  let d = dialog(page);
  assert.equal(await d.getByLabel('Pattern', { exact: true }).isVisible(), false, 'no pattern for a built-in detector');
  await d.getByLabel('Name').fill('no-project-x');
  await d.getByLabel('Detector').selectOption('terms');
  assert.equal(await d.getByLabel('Pattern', { exact: true }).isVisible(), false);
  await d.getByLabel('Terms', { exact: true }).fill(`project-x\n${XSS}`);
  await d.getByLabel('Action').selectOption('block');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'detached' });
  await page.getByRole('cell', { name: 'no-project-x', exact: true }).waitFor();
  await page.getByText(XSS, { exact: true }).waitFor();
  await noXss(page);

  const before = upstream.requests.length;
  const blocked = await chat('status of project-x please');
  assert.equal(blocked.status, 400, blocked.text);
  assert.equal(blocked.json.error_code, 'guardrail_blocked');
  assert.equal(upstream.requests.length, before, 'nothing reached the provider');

  // The API's error about a pattern lands next to the pattern.
  await page.getByRole('button', { name: 'New rule' }).click();
  d = dialog(page);
  await d.getByLabel('Name').fill('ticket-ids');
  await d.getByLabel('Detector').selectOption('regex');
  assert.equal(await d.getByLabel('Terms', { exact: true }).isVisible(), false, 'no terms for a pattern');
  await d.getByLabel('Pattern', { exact: true }).fill('TICKET-(\\d+');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.locator('[data-field="pattern"] .field-error').filter({ hasText: /RE2/ }).waitFor();
  await d.getByRole('button', { name: 'Cancel' }).click();
  await d.waitFor({ state: 'detached' });

  await page.getByRole('button', { name: 'New rule' }).click();
  d = dialog(page);
  await d.getByLabel('Name').fill('no-emails');
  await d.getByLabel('Detector').selectOption('email');
  await d.getByLabel('Action').selectOption('redact');
  await d.getByLabel('Applies to').selectOption('both');
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'detached' });
  await page.getByRole('cell', { name: 'no-emails', exact: true }).waitFor();
  const { rules } = expectOk(await entApi('GET', '/api/v1/guardrails'));
  assert.deepEqual(rules.map((r) => [r.name, r.detector, r.action, r.applies_to]), [
    ['no-project-x', 'terms', 'block', 'request'],
    ['no-emails', 'email', 'redact', 'both'],
  ]);

  const redacted = await chat('write to ada@example.com today');
  assert.equal(redacted.status, 200, redacted.text);
  const sent = upstream.lastRequest().json.messages[0].content;
  assert.match(sent, /\[REDACTED_EMAIL\]/);
  assert.doesNotMatch(sent, /ada@example\.com/);
  await shots(page, 'guardrails');

  // Editing keeps the rest of the set.
  await page.getByRole('button', { name: 'Edit no-emails' }).click();
  d = dialog(page);
  await d.getByLabel('Action').selectOption('flag');
  await d.getByRole('button', { name: 'Save' }).click();
  await d.waitFor({ state: 'detached' });
  await settle(page);
  const after = expectOk(await entApi('GET', '/api/v1/guardrails')).rules;
  assert.deepEqual(after.map((r) => [r.name, r.action]), [['no-project-x', 'block'], ['no-emails', 'flag']]);
});

test('settings clear the response cache', async () => {
  const headers = { 'x-gatehouse-cache': 'on' };
  const first = await chat('cache me', { model: 'mock/cached-model', headers });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers['x-gatehouse-cache'], 'miss');
  const second = await chat('cache me', { model: 'mock/cached-model', headers });
  assert.equal(second.headers['x-gatehouse-cache'], 'hit');

  const { page } = admin;
  await go(page, '/ui/settings', 'Settings and plan');
  const section = page.getByRole('region', { name: 'Response cache' });
  await section.getByText('X-Gatehouse-Cache-TTL').waitFor();
  await section.scrollIntoViewIfNeeded();
  await shots(page, 'settings-cache');
  await section.getByRole('button', { name: 'Clear cache' }).click();
  const d = dialog(page);
  await d.getByText(/charged as usual/).waitFor();
  await d.getByRole('button', { name: 'Clear cache' }).click();
  await page.getByText('Removed 1 cached answer', { exact: true }).waitFor();

  const third = await chat('cache me', { model: 'mock/cached-model', headers });
  assert.equal(third.headers['x-gatehouse-cache'], 'miss', 'the cache is empty');
});

test('a free organization is told that guardrails and the cache need the Enterprise plan', async () => {
  const { page } = await signedIn(free.token);
  await go(page, '/ui/guardrails', 'Guardrails');
  await page.getByText('Guardrails needs the Enterprise plan').waitFor();
  assert.equal(await page.getByRole('button', { name: 'New rule' }).count(), 0);
  await go(page, '/ui/aliases', 'Model aliases');
  await page.getByRole('button', { name: 'New alias' }).waitFor();
  await go(page, '/ui/settings', 'Settings and plan');
  const section = page.getByRole('region', { name: 'Response cache' });
  await section.getByText(/needs the Enterprise plan/).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Clear cache' }).count(), 0);
});

test('a viewer sees the aliases and rules and nothing that changes them', async () => {
  const { page } = await signedIn(viewer.token, 390);
  const mutating = /^(New|Add|Edit|Remove|Delete|Save|Create|Clear)\b/;
  for (const [path, title] of [['/ui/aliases', 'Model aliases'], ['/ui/guardrails', 'Guardrails'], ['/ui/settings', 'Settings and plan']]) {
    await go(page, path, title);
    const names = await page.getByRole('button').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') || e.textContent.trim()));
    assert.deepEqual(names.filter((n) => mutating.test(n)), [], `${title}: no mutating action for a viewer`);
    if (path === '/ui/aliases') {
      await page.getByText(XSS_ALIAS, { exact: true }).waitFor();
      await page.getByText('mock/console-model').waitFor();
    }
    if (path === '/ui/guardrails') await page.getByText('no-project-x').waitFor();
  }
  await noXss(page);
});
