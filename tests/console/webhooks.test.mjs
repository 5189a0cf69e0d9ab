// The webhooks page in Debian's headless Chromium against the real binary
// and a receiver on 127.0.0.1: a webhook created in the console with its
// secret shown once, a test event and a key event arriving signed with that
// secret, the attempts in the delivery log, deletion stopping deliveries,
// the plan gate, a viewer without mutating controls, and a description with
// markup shown as text.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startGatehouse, setPlan, expectOk, signup, PROXY_ARGS, poll, sleep,
} from '../api/harness.mjs';
import { join } from '../api/governance_helpers.mjs';
import { assertSigned, startReceiver } from '../api/webhook_receiver.mjs';
import {
  XSS, launch, newPage as newBrowserPage, notExpected, shots, settle, noXss, dialog,
} from './browser.mjs';

let server;
let rx;
let browser;
let org; // the enterprise org's owner session
const state = {};

/** A page signed in with `token` (kept in sessionStorage as the console does). */
async function pageAs(token, width = 1280) {
  const p = await newBrowserPage(browser, { width });
  await p.context.addInitScript((t) => sessionStorage.setItem('gatehouse.session', t), token);
  return p;
}

async function gotoWebhooks(page) {
  await page.goto(`${server.url}/ui/webhooks`);
  await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
  await settle(page);
}

/** Opens the delivery log of `url` and waits for a row matching `text`. */
async function deliveryRow(page, url, text) {
  await page.getByRole('button', { name: `Deliveries ${url}`, exact: true }).click();
  const d = dialog(page);
  await d.getByRole('heading', { name: `Deliveries to ${url}` }).waitFor();
  const row = d.locator('tbody tr').filter({ hasText: text });
  await poll(async () => {
    if (await row.count()) return true;
    await d.getByRole('button', { name: 'Refresh' }).click();
    await sleep(150);
    return false;
  }, { timeoutMs: 8000, what: `a delivery with ${text}` });
  return { d, row };
}

before(async () => {
  rx = await startReceiver();
  // Retries 100 ms after a failure instead of 5 s.
  server = await startGatehouse({ args: [...PROXY_ARGS, '--webhook-retry-base-ms', '100'] });
  browser = await launch();
  org = await signup(server);
  await setPlan(server, org.org.id, 'enterprise');
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  await rx?.close();
});

test('an admin creates a webhook, sees its secret once, tests it, reads its deliveries and deletes it', async () => {
  const owner = await pageAs(org.token);
  const { page } = owner;
  try {
    await gotoWebhooks(page);
    // The empty state says what webhooks are for and what to do.
    await page.getByText('No webhooks yet.').waitFor();
    await page.getByText(/tells another system about this organization/).waitFor();
    await page.getByText('Create one with the URL of your receiver.').waitFor();

    const url = rx.url('ui');
    await page.getByRole('button', { name: 'New webhook' }).click();
    let d = dialog(page);
    const events = d.getByRole('group', { name: /Events/ });
    assert.equal(await events.getByRole('checkbox').count(), 10, 'every event type offered');
    // Nothing picked: the console says so under the group.
    await d.getByLabel('URL').fill(url);
    await d.getByRole('button', { name: 'Create' }).click();
    await d.locator('[data-field="events"] .field-error').filter({ hasText: 'Pick at least one event.' }).waitFor();
    await events.getByLabel('key.created').check();
    await events.getByLabel('key.revoked').check();
    await d.getByLabel('Description').fill(`Billing ${XSS}`);
    await shots(page, 'webhooks-new');
    // The SSRF guard's refusal lands next to the URL.
    await d.getByLabel('URL').fill('http://10.1.2.3/hook');
    await d.getByRole('button', { name: 'Create' }).click();
    await d.locator('[data-field="url"] .field-error').filter({ hasText: /\S/ }).waitFor();
    await d.getByLabel('URL').fill(url);
    await d.getByRole('button', { name: 'Create' }).click();

    d = dialog(page);
    await d.getByRole('heading', { name: 'Webhook created' }).waitFor();
    const secret = await d.getByLabel('Signing secret').inputValue();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    await d.getByText(/Standard Webhooks headers/).waitFor();
    for (const header of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      assert.ok(await d.locator('code', { hasText: header }).count(), `the note names ${header}`);
    }
    await shots(page, 'webhooks-secret');
    await d.getByRole('button', { name: 'Done' }).click();
    await settle(page);

    // Listed with its events and description (as text); the secret is gone.
    const row = page.locator('tbody tr').filter({ hasText: url });
    await row.waitFor();
    await row.getByText('key.created').waitFor();
    await row.getByText('key.revoked').waitFor();
    await row.getByText(`Billing ${XSS}`).waitFor();
    assert.equal(await page.getByText(secret.slice(6)).count(), 0, 'the secret is not shown again');
    await noXss(page);

    // A test event arrives signed with the secret.
    await page.getByRole('button', { name: `Send test ${url}`, exact: true }).click();
    await page.locator('.notice').filter({ hasText: /queued/ }).waitFor();
    const test = await poll(() => rx.of('ui').find((r) => r.json?.type === 'webhook.test'),
      { timeoutMs: 8000, what: 'webhook.test at the receiver' });
    assert.equal(test.method, 'POST');
    assertSigned(test, secret);
    assert.equal(test.json.org_id, org.org.id);

    // Its attempt is in the delivery log with the receiver's 200.
    let log = await deliveryRow(page, url, 'webhook.test');
    assert.match(await log.row.textContent(), /200/);
    assert.match(await log.row.textContent(), new RegExp(test.json.id));
    await log.d.getByRole('button', { name: 'Close' }).click();

    // A key made through the API raises key.created.
    const made = expectOk(await server.api('POST', '/api/v1/keys', { token: org.token, body: { name: 'hooked' } }), 201);
    const created = await poll(() => rx.of('ui').find((r) => r.json?.type === 'key.created'),
      { timeoutMs: 8000, what: 'key.created at the receiver' });
    assertSigned(created, secret);
    assert.equal(created.json.data.key_id, made.key.id);
    assert.ok(!created.body.includes(made.raw_key), 'the raw key is not sent');
    log = await deliveryRow(page, url, 'key.created');
    assert.match(await log.row.textContent(), /200/);
    await shots(page, 'webhooks-deliveries');
    await log.d.getByRole('button', { name: 'Close' }).click();
    await shots(page, 'webhooks');

    // Deleting asks first and says that deliveries stop.
    await page.getByRole('button', { name: `Delete ${url}`, exact: true }).click();
    d = dialog(page);
    await d.getByText(/stops sending events/).waitFor();
    await d.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No webhooks yet.').waitFor();
    const before = rx.of('ui').length;
    expectOk(await server.api('POST', '/api/v1/keys', { token: org.token, body: { name: 'after' } }), 201);
    await sleep(600);
    assert.equal(rx.of('ui').length, before, 'nothing is sent after deletion');
    assert.deepEqual(expectOk(await server.api('GET', '/api/v1/webhooks', { token: org.token })).webhooks, []);
    assert.deepEqual(owner.problems.filter(notExpected), []);
  } finally {
    await owner.context.close();
  }
});

test('a viewer sees the webhooks and their deliveries, and no control that changes them', async () => {
  const url = rx.url('viewer');
  const made = expectOk(await server.api('POST', '/api/v1/webhooks', {
    token: org.token, body: { url, events: ['member.joined'], description: 'People' },
  }), 201);
  state.viewer = await join(server, org, 'viewer');
  expectOk(await server.api('POST', `/api/v1/webhooks/${made.webhook.id}/test`, { token: org.token }), 202);
  const vera = await pageAs(state.viewer.token, 390);
  try {
    const { page } = vera;
    await gotoWebhooks(page);
    await page.getByText(url).first().waitFor();
    const names = await page.getByRole('button').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') || e.textContent.trim()));
    const mutating = /^(New|Create|Send test|Delete|Edit|Save|Add|Remove)\b/;
    assert.deepEqual(names.filter((n) => mutating.test(n)), [], 'no mutating control for a viewer');
    assert.ok(names.includes(`Deliveries ${url}`), 'the delivery log is readable');
    const { d } = await deliveryRow(page, url, 'webhook.test');
    await d.getByRole('button', { name: 'Close' }).click();
    await shots(page, 'webhooks-viewer');
    assert.deepEqual(vera.problems.filter(notExpected), []);
  } finally {
    await vera.context.close();
  }
  expectOk(await server.api('DELETE', `/api/v1/webhooks/${made.webhook.id}`, { token: org.token }));
});

test('an organization without the plan sees why the page is empty', async () => {
  const free = await signup(server);
  const p = await pageAs(free.token);
  try {
    await gotoWebhooks(p.page);
    await p.page.getByText('Webhooks needs the Enterprise plan').waitFor();
    assert.equal(await p.page.getByRole('button', { name: 'New webhook' }).count(), 0);
    await shots(p.page, 'webhooks-free');
    assert.deepEqual(p.problems.filter(notExpected), []);
  } finally {
    await p.context.close();
  }
});
