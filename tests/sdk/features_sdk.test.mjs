// The official OpenAI client, unmodified, against the gateway features a
// client meets: a guardrail that redacts before the request leaves, one
// that blocks (the client's error carries guardrail_blocked), and the
// response cache asked by a default header. The upstream records what it
// received.
//
// Needs `npm ci --prefix tests/sdk` (exact versions from package-lock.json).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { PROXY_ARGS, expectOk, hex, setPlan, signup, startGatehouse } from '../api/harness.mjs';
import { as, startTinyUpstream } from '../api/governance_helpers.mjs';

let OpenAI;
try {
  OpenAI = (await import('openai')).default;
} catch (e) {
  if (e.code === 'ERR_MODULE_NOT_FOUND') {
    throw new Error("the npm package 'openai' is not installed; run `npm ci --prefix tests/sdk` first");
  }
  throw e;
}

let gh;
let up;
let s;
const label = `sdk-${hex(4)}`;

/// A client of the org's key; `headers` are sent with every request.
function client(headers = {}) {
  return new OpenAI({
    apiKey: `sk-dummy-${hex(8)}`, baseURL: `${gh.url}/v1`, maxRetries: 0,
    defaultHeaders: { 'X-Gatehouse-Key': s.apiKey, ...headers },
  });
}

before(async () => {
  up = await startTinyUpstream();
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
  s = await signup(gh);
  await setPlan(gh, s.org.id, 'enterprise');
  expectOk(await as(gh, s).post('/api/v1/providers', {
    name: 'openai', base_url: up.base(label), api_key: `sk-up-${hex(12)}`,
  }), 201);
  expectOk(await as(gh, s).put('/api/v1/guardrails', {
    rules: [
      { name: 'emails', detector: 'email', action: 'redact' },
      { name: 'cards', detector: 'payment_card', action: 'block' },
    ],
  }));
});

after(async () => {
  await up?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

describe('openai client and the gateway features', () => {
  test('an e-mail address is redacted before the request leaves', async () => {
    const before = up.of(label).length;
    const done = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Write to jane.doe@example.com about the launch.' }],
    });
    assert.equal(done.choices[0].finish_reason, 'stop');
    const sent = up.of(label).slice(before);
    assert.equal(sent.length, 1);
    const content = sent[0].json.messages[0].content;
    assert.ok(!JSON.stringify(sent[0].json).includes('jane.doe@example.com'), content);
    assert.match(content, /\[REDACTED_EMAIL\]/);
  });

  test('a blocked request reaches the client as a 400 guardrail_blocked error, nothing sent upstream', async () => {
    const before = up.of(label).length;
    await assert.rejects(
      client().chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Charge 4111 1111 1111 1111 please.' }],
      }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 400);
        assert.equal(err.code, 'guardrail_blocked');
        assert.match(err.message, /cards/);
        return true;
      });
    assert.equal(up.of(label).length, before, 'nothing reached the upstream');
  });

  test('the response cache asked by a default header: the second answer is a hit', async () => {
    const cached = client({ 'X-Gatehouse-Cache': 'on' });
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Say ${hex(6)}.` }] };
    const before = up.of(label).length;
    const first = await cached.chat.completions.create(body).withResponse();
    assert.equal(first.response.headers.get('x-gatehouse-cache'), 'miss');
    const second = await cached.chat.completions.create(body).withResponse();
    assert.equal(second.response.headers.get('x-gatehouse-cache'), 'hit');
    assert.deepEqual(second.data.choices, first.data.choices);
    assert.equal(up.of(label).length - before, 1, 'the hit did not reach the upstream');
  });
});
