// Guardrails and PII redaction: the plan gate, rule validation in the API's
// error shape, redaction before a request leaves, blocking with nothing
// sent upstream, flags on the log, inheritance org -> app -> key (adding and
// tightening, never loosening), answers redacted, streams redacted on the
// way up, audit entries and metrics.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, expectError, expectOk, hex, signup, startGatehouse, streamRequest, waitForLog,
} from './harness.mjs';
import {
  allAudit, as, enterpriseOrg, promSamples, proxyChat, startTinyUpstream,
} from './governance_helpers.mjs';
import { REPLY_TEXT, startMockUpstream } from './mock_upstream.mjs';

let gh;
let up;
let mock;

before(async () => {
  up = await startTinyUpstream();
  mock = await startMockUpstream();
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
});

after(async () => {
  await up?.close();
  await mock?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

/// An org (enterprise unless asked) with provider `openai` on the tiny
/// upstream under a label of its own (or on `base`).
async function orgWithProvider({ plan = 'enterprise', base } = {}) {
  const s = plan === 'enterprise' ? await enterpriseOrg(gh) : await signup(gh);
  s.label = `guard-${hex(4)}`;
  expectOk(await as(gh, s).post('/api/v1/providers', {
    name: 'openai', base_url: base ?? up.base(s.label), api_key: `sk-up-${hex(12)}`,
  }), 201);
  return s;
}

const putRules = (s, rules) => as(gh, s).put('/api/v1/guardrails', { rules });
const chat = (key, content) => proxyChat(gh, key, { content, headers: { 'x-gatehouse-provider': 'openai' } });
const sentContent = (rec) => rec.json.messages[0].content;

async function keyWith(s, body) {
  return expectOk(await as(gh, s).post('/api/v1/keys', { name: `k-${hex(3)}`, ...body }), 201);
}

describe('plan and validation', () => {
  test('free orgs get 403 plan_required for every guardrail option', async () => {
    const s = await orgWithProvider({ plan: 'free' });
    const u = as(gh, s);
    const rule = { name: 'mail', detector: 'email', action: 'redact' };
    expectError(await u.get('/api/v1/guardrails'), 403, 'plan_required');
    expectError(await putRules(s, [rule]), 403, 'plan_required');
    expectError(await u.post('/api/v1/apps', { name: 'A', guardrails: [rule] }), 403, 'plan_required');
    expectError(await u.post('/api/v1/keys', { name: 'k', guardrails: [rule] }), 403, 'plan_required');
    // Without rules nothing needs the plan, and requests pass untouched.
    const app = expectOk(await u.post('/api/v1/apps', { name: 'B', guardrails: [] }), 201);
    assert.deepEqual(app.guardrails, []);
    const res = await chat(s.apiKey, 'write to bob@example.com');
    expectOk(res);
    assert.equal(sentContent(up.of(s.label).at(-1)), 'write to bob@example.com');
  });

  test('rules are validated and refused in the API error shape', async () => {
    const s = await orgWithProvider();
    expectOk(await as(gh, s).get('/api/v1/guardrails'));
    const bad = [
      [[{ name: 'x', detector: 'passport', action: 'redact' }], 'rules[0].detector'],
      [[{ name: 'x', detector: 'regex', pattern: '(unclosed', action: 'block' }], 'rules[0].pattern'],
      [[{ name: 'x', detector: 'regex', action: 'block' }], 'rules[0].pattern'],
      [[{ name: 'x', detector: 'email', action: 'shout' }], 'rules[0].action'],
      [[{ name: 'x', detector: 'email', action: 'flag', applies_to: 'sideways' }], 'rules[0].applies_to'],
      [[{ name: 'x', detector: 'email', action: 'flag', colour: 'red' }], 'rules[0].colour'],
      [[{ name: 'x', detector: 'terms', terms: [], action: 'flag' }], 'rules[0].terms'],
      [[{ name: 'a', detector: 'email', action: 'flag' }, { name: 'a', detector: 'phone', action: 'flag' }],
        'rules[1].name'],
      ['all', 'rules'],
    ];
    for (const [rules, field] of bad) {
      expectError(await putRules(s, rules), 400, 'invalid_request', field);
    }
    expectError(await as(gh, s).put('/api/v1/guardrails', {}), 400, 'invalid_request', 'rules');
    expectError(await as(gh, s).put('/api/v1/guardrails', { rules: [], extra: 1 }), 400, 'invalid_request', 'extra');
    expectError(await as(gh, s).post('/api/v1/apps', {
      name: 'A', guardrails: [{ name: 'x', detector: 'nope', action: 'flag' }],
    }), 400, 'invalid_request', 'guardrails[0].detector');
    expectError(await as(gh, s).post('/api/v1/keys', {
      name: 'k', guardrails: [{ name: 'x', detector: 'regex', pattern: 'a**', action: 'flag' }],
    }), 400, 'invalid_request', 'guardrails[0].pattern');
    // Nothing was stored.
    assert.deepEqual(expectOk(await as(gh, s).get('/api/v1/guardrails')), { rules: [] });
  });

  test('the org rules read back as written, each change audited', async () => {
    const s = await orgWithProvider();
    const rules = [
      { name: 'mail', detector: 'email', action: 'redact', applies_to: 'both' },
      { name: 'codes', detector: 'regex', pattern: 'ZX-\\d{4}', action: 'flag', applies_to: 'request' },
    ];
    const put = expectOk(await putRules(s, rules));
    assert.deepEqual(put.rules.map((r) => [r.name, r.detector, r.action, r.applies_to]),
      [['mail', 'email', 'redact', 'both'], ['codes', 'regex', 'flag', 'request']]);
    assert.equal(put.rules[1].pattern, 'ZX-\\d{4}');
    assert.deepEqual(expectOk(await as(gh, s).get('/api/v1/guardrails')), put);
    expectOk(await putRules(s, []));
    const entries = (await allAudit(gh, s)).filter((e) => e.action === 'guardrails.update');
    assert.equal(entries.length, 2, 'one audit entry per change');
    const first = entries.find((e) => e.after?.rules?.length === 2);
    assert.ok(first, `no entry with the rules after: ${JSON.stringify(entries)}`);
    assert.deepEqual(first.before, { rules: [] });
  });
});

describe('actions on requests', () => {
  test('redact: the upstream sees placeholders, the log counts the matches', async () => {
    const s = await orgWithProvider();
    expectOk(await putRules(s, [
      { name: 'mail', detector: 'email', action: 'redact' },
      { name: 'cards', detector: 'payment_card', action: 'redact' },
    ]));
    const res = await chat(s.apiKey, 'I am bob@example.com, card 4111 1111 1111 1111, cc ann@example.org');
    expectOk(res);
    assert.equal(sentContent(up.of(s.label).at(-1)),
      'I am [REDACTED_EMAIL], card [REDACTED_PAYMENT_CARD], cc [REDACTED_EMAIL]');
    const log = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(log.status, 200);
    assert.deepEqual(log.guardrails, [
      { rule: 'mail', action: 'redact', count: 2 },
      { rule: 'cards', action: 'redact', count: 1 },
    ]);
    // A request without matches goes on byte for byte, with an empty list.
    const clean = await chat(s.apiKey, 'nothing to see');
    expectOk(clean);
    assert.equal(sentContent(up.of(s.label).at(-1)), 'nothing to see');
    const cleanLog = await waitForLog(gh, s, clean.headers['x-gatehouse-request-id']);
    assert.deepEqual(cleanLog.guardrails, []);
  });

  test('block: 400 guardrail_blocked naming the rule, nothing sent upstream', async () => {
    const s = await orgWithProvider();
    expectOk(await putRules(s, [{ name: 'codename', detector: 'terms', terms: ['project zeus'], action: 'block' }]));
    const before = up.of(s.label).length;
    const res = await chat(s.apiKey, 'Tell me about Project Zeus please');
    expectError(res, 400, 'guardrail_blocked', 'codename');
    assert.equal(up.of(s.label).length, before, 'the upstream saw the blocked request');
    const log = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(log.status, 400);
    assert.equal(log.error_code, 'guardrail_blocked');
    assert.deepEqual(log.guardrails, [{ rule: 'codename', action: 'block', count: 1 }]);
    // A word that merely contains the term is not a match.
    expectOk(await chat(s.apiKey, 'project zeuss is another thing'));
  });

  test('flag: the request goes on unchanged and the log records it', async () => {
    const s = await orgWithProvider();
    expectOk(await putRules(s, [{ name: 'orders', detector: 'regex', pattern: 'ORD-[0-9]{6}', action: 'flag' }]));
    const res = await chat(s.apiKey, 'where is ORD-123456 and ORD-654321?');
    expectOk(res);
    assert.equal(sentContent(up.of(s.label).at(-1)), 'where is ORD-123456 and ORD-654321?');
    const log = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.deepEqual(log.guardrails, [{ rule: 'orders', action: 'flag', count: 2 }]);
    const metrics = await as(gh, s).get('/api/v1/metrics');
    assert.equal(metrics.status, 200);
    const flagged = promSamples(metrics.text)
      .find((x) => x.name === 'gatehouse_guardrail_hits_total' && x.labels.action === 'flag');
    assert.ok(flagged && flagged.value >= 2, `flag matches not counted: ${metrics.text}`);
  });
});

describe('inheritance org -> app -> key', () => {
  test('an app tightens and a key adds; neither can loosen', async () => {
    const s = await orgWithProvider();
    const u = as(gh, s);
    expectOk(await putRules(s, [
      { name: 'cards', detector: 'payment_card', action: 'flag' },
      { name: 'secrets', detector: 'secret', action: 'block' },
    ]));
    // Loosening an org rule is refused, naming the rule.
    expectError(await u.post('/api/v1/apps', {
      name: 'Loose', guardrails: [{ name: 'secrets', detector: 'secret', action: 'flag' }],
    }), 400, 'invalid_request', 'secrets');
    const app = expectOk(await u.post('/api/v1/apps', {
      name: 'Support', guardrails: [{ name: 'cards', detector: 'payment_card', action: 'redact' }],
    }), 201);
    assert.equal(app.guardrails[0].action, 'redact');
    // A key of the app cannot loosen the app's tightened rule either.
    expectError(await u.post('/api/v1/keys', {
      name: 'loose', app_id: app.id, guardrails: [{ name: 'cards', detector: 'payment_card', action: 'flag' }],
    }), 400, 'invalid_request', 'cards');
    const withIp = await keyWith(s, {
      app_id: app.id, guardrails: [{ name: 'ips', detector: 'ip_address', action: 'redact' }],
    });
    assert.equal(withIp.key.guardrails[0].name, 'ips');
    const plain = await keyWith(s, { app_id: app.id });
    const text = 'card 4111-1111-1111-1111 from 10.1.2.3';

    expectOk(await chat(withIp.raw_key, text));
    assert.equal(sentContent(up.of(s.label).at(-1)), 'card [REDACTED_PAYMENT_CARD] from [REDACTED_IP_ADDRESS]');
    expectOk(await chat(plain.raw_key, text));
    assert.equal(sentContent(up.of(s.label).at(-1)), 'card [REDACTED_PAYMENT_CARD] from 10.1.2.3');
    const res = await chat(s.apiKey, text);
    expectOk(res);
    assert.equal(sentContent(up.of(s.label).at(-1)), text, 'outside the app the card is only flagged');
    const log = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.deepEqual(log.guardrails, [{ rule: 'cards', action: 'flag', count: 1 }]);

    // The org's block applies to every key, whatever the lower levels say.
    const secret = 'use sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789';
    expectError(await chat(withIp.raw_key, secret), 400, 'guardrail_blocked', 'secrets');

    // A change of the app's rules applies to its keys at once.
    expectOk(await u.put(`/api/v1/apps/${app.id}`, { guardrails: [] }));
    expectOk(await chat(plain.raw_key, text));
    assert.equal(sentContent(up.of(s.label).at(-1)), text);
    const audit = (await allAudit(gh, s)).filter((e) => e.action === 'app.update' && e.target_id === app.id);
    assert.ok(audit.some((e) => e.before?.guardrails?.length === 1 && e.after?.guardrails?.length === 0),
      `the app's rule change is not audited: ${JSON.stringify(audit)}`);
  });
});

describe('answers and streams', () => {
  test('response rules redact a whole answer; request rules leave it alone', async () => {
    const label = `resp-${hex(4)}`;
    const s = await orgWithProvider({ base: `${mock.url}/p/${label}` });
    expectOk(await putRules(s, [
      { name: 'mockword', detector: 'terms', terms: ['mock'], action: 'redact', applies_to: 'response' },
    ]));
    const res = await proxyChat(gh, s.apiKey, { content: 'a mock question', headers: { 'x-gatehouse-provider': 'openai' } });
    const body = expectOk(res);
    assert.equal(body.choices[0].message.content, REPLY_TEXT.replace('mock', '[REDACTED:mockword]'));
    assert.equal(mock.lastRequest((r) => r.label === label).json.messages[0].content, 'a mock question');
    const log = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.deepEqual(log.guardrails, [{ rule: 'mockword', action: 'redact', count: 1 }]);
    assert.ok(log.tokens_out > 0, 'usage still read from the answer');

    // A response rule that blocks refuses the answer.
    expectOk(await putRules(s, [
      { name: 'nohello', detector: 'terms', terms: ['hello'], action: 'block', applies_to: 'response' },
    ]));
    expectError(await proxyChat(gh, s.apiKey, { headers: { 'x-gatehouse-provider': 'openai' } }),
      400, 'guardrail_blocked', 'nohello');
  });

  test('streams: request rules redact before sending; the answer is relayed as it comes', async () => {
    const label = `stream-${hex(4)}`;
    const s = await orgWithProvider({ base: `${mock.url}/p/${label}` });
    expectOk(await putRules(s, [
      { name: 'mail', detector: 'email', action: 'redact', applies_to: 'both' },
    ]));
    const res = await streamRequest(gh.url, '/v1/chat/completions', {
      key: s.apiKey,
      headers: { 'x-gatehouse-provider': 'openai' },
      body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'reply to eve@example.com' }] },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.error, null);
    assert.match(res.headers['content-type'], /^text\/event-stream/);
    assert.ok(res.text.includes('[DONE]'), 'the stream did not end');
    const rec = mock.lastRequest((r) => r.label === label);
    assert.equal(rec.json.messages[0].content, 'reply to [REDACTED_EMAIL]');
    assert.equal(rec.json.stream, true);
    const log = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(log.stream, true);
    assert.deepEqual(log.guardrails, [{ rule: 'mail', action: 'redact', count: 1 }]);

    // A blocked stream request never reaches the provider.
    expectOk(await putRules(s, [{ name: 'stop', detector: 'terms', terms: ['halt'], action: 'block' }]));
    const count = mock.requests.filter((r) => r.label === label).length;
    const blocked = await gh.api('POST', '/v1/chat/completions', {
      key: s.apiKey,
      headers: { 'x-gatehouse-provider': 'openai' },
      body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'halt now' }] },
    });
    expectError(blocked, 400, 'guardrail_blocked', 'stop');
    assert.equal(mock.requests.filter((r) => r.label === label).length, count);
  });
});
