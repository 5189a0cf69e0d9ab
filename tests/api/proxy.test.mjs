// The proxy (ANY /v1/*) without streaming: key authentication, provider
// selection, scopes, what is forwarded upstream, what is relayed back,
// upstream failures, body limits, /v1/models and the X-Gatehouse-* headers.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, createKey, createProvider, expectError, expectOk, hex, rawRequest, setPlan, sha256Hex, signup,
  startGatehouse,
} from './harness.mjs';
import { DEFAULT_MODELS, REPLY_TEXT, closedPortUrl, startMockUpstream } from './mock_upstream.mjs';

const MiB = 1024 * 1024;
const CLAUDE_MODELS = [
  { id: 'claude-3-5-haiku-latest', object: 'model', created: 1729555200, owned_by: 'mock' },
  { id: 'claude-sonnet-4-5', object: 'model', created: 1759104000, owned_by: 'mock' },
];

let gh;
let mock;

before(async () => {
  mock = await startMockUpstream({ models: { anthropic: CLAUDE_MODELS } });
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
});

after(async () => {
  await mock?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

/// Signs up an org (enterprise when asked) with providers pointing at the
/// mock under `/p/<name>`; returns {s, keys: {name: provider key}}.
async function orgWith(names, { plan = 'free', extra = {} } = {}) {
  const s = await signup(gh);
  if (plan !== 'free') await setPlan(gh, s.org.id, plan);
  const keys = {};
  for (const name of names) {
    keys[name] = `sk-up-${name}-${hex(16)}`;
    await createProvider(gh, s, { name, base_url: `${mock.url}/p/${name}`, api_key: keys[name], ...(extra[name] || {}) });
  }
  return { s, keys };
}

function chatBody(model, extra = {}) {
  return { model, messages: [{ role: 'user', content: 'Say hello.' }], ...extra };
}

/// A unique marker header, to find the mock's record of one request.
function tagged(headers = {}) {
  const tag = hex(8);
  return { tag, headers: { 'x-test-tag': tag, ...headers } };
}

function recordOf(tag) {
  return mock.lastRequest((r) => r.headers['x-test-tag'] === tag);
}

/// Sends a proxied request and returns {res, rec} (rec: the mock's record,
/// undefined if the request never reached it).
async function send(key, p, { method = 'POST', body, raw, headers = {} } = {}) {
  const t = tagged(headers);
  const res = await gh.api(method, p, { key, body, raw, headers: t.headers });
  return { res, rec: recordOf(t.tag) };
}

const chat = (key, model, o = {}) => send(key, '/v1/chat/completions', { body: chatBody(model), ...o });

describe('key authentication', () => {
  let org;
  before(async () => {
    org = await orgWith(['openai']);
  });

  test('missing, malformed or unknown key -> 401 and nothing is forwarded', async () => {
    const before = mock.requests.length;
    for (const key of [undefined, '', 'nope', `sk-gate-${hex(32)}`, `sk-gate-${hex(31)}`, org.s.token]) {
      const { res } = await chat(key, 'gpt-4o-mini');
      expectError(res, 401, 'unauthorized');
    }
    // A session token is no proxy credential.
    const { res } = await send(undefined, '/v1/chat/completions', {
      body: chatBody('gpt-4o-mini'), headers: { authorization: `Bearer ${org.s.token}` },
    });
    expectError(res, 401, 'unauthorized');
    assert.equal(mock.requests.length, before);
  });

  test('a revoked key -> 401', async () => {
    const { key, raw_key } = await createKey(gh, org.s, { name: 'short-lived' });
    assert.equal((await chat(raw_key, 'gpt-4o-mini')).res.status, 200);
    expectOk(await gh.api('DELETE', `/api/v1/keys/${key.id}`, { token: org.s.token }));
    const { res, rec } = await chat(raw_key, 'gpt-4o-mini');
    expectError(res, 401, 'unauthorized');
    assert.equal(rec, undefined);
  });

  test('a key in the query string -> 401 key_in_query', async () => {
    for (const param of ['key', 'api_key', 'token']) {
      const { res, rec } = await send(undefined, `/v1/chat/completions?${param}=${org.s.apiKey}`, {
        body: chatBody('gpt-4o-mini'),
      });
      expectError(res, 401, 'key_in_query');
      assert.equal(rec, undefined);
    }
  });

  test('errors of the proxy keep the API error shape with a JSON content type', async () => {
    const { res } = await chat(undefined, 'gpt-4o-mini');
    expectError(res, 401, 'unauthorized');
    assert.match(res.headers['content-type'], /^application\/json/);
  });
});

describe('provider selection', () => {
  let org;
  before(async () => {
    // The mock answers every API: its `anthropic` is declared OpenAI-format
    // so that chat completions reach it as they are (format translation has
    // its own tests).
    org = await orgWith(['openai', 'anthropic', 'other', 'google', 'mistral'], {
      plan: 'enterprise', extra: { anthropic: { format: 'openai' } },
    });
    assert.deepEqual(expectOk(await gh.api('PUT', '/api/v1/providers/default', {
      token: org.s.token, body: { provider_name: 'other' },
    })), { default_provider: 'other' });
  });

  test('X-Gatehouse-Provider wins over the model name; the body is relayed untouched', async () => {
    const raw = JSON.stringify(chatBody('gpt-4o-mini'));
    const { res, rec } = await send(org.s.apiKey, '/v1/chat/completions', {
      raw, headers: { 'x-gatehouse-provider': 'anthropic' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.label, 'anthropic');
    assert.equal(res.headers['x-gatehouse-provider'], 'anthropic');
    assert.equal(rec.text, raw);
  });

  test('X-Gatehouse-Provider naming an unknown provider -> 400 provider_required', async () => {
    const { res, rec } = await chat(org.s.apiKey, 'gpt-4o-mini', { headers: { 'x-gatehouse-provider': 'nope' } });
    expectError(res, 400, 'provider_required');
    assert.equal(rec, undefined);
  });

  test('provider/model selects the provider and strips the prefix', async () => {
    const body = chatBody('anthropic/gpt-4o-mini', { temperature: 0.5, user: 'u-1' });
    const { res, rec } = await send(org.s.apiKey, '/v1/chat/completions', { body });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.label, 'anthropic');
    assert.equal(res.headers['x-gatehouse-provider'], 'anthropic');
    assert.deepEqual(rec.json, { ...body, model: 'gpt-4o-mini' });
    assert.equal(res.json.model, 'gpt-4o-mini');
  });

  test('a prefix that is not a provider of the org leaves the model alone', async () => {
    const raw = JSON.stringify(chatBody('meta-llama/llama-3-8b'));
    const { res, rec } = await send(org.s.apiKey, '/v1/chat/completions', { raw });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.label, 'other', 'the default provider');
    assert.equal(rec.text, raw);
  });

  const autodetect = [
    ['/v1/chat/completions', 'claude-3-5-haiku-latest', 'anthropic'],
    ['/v1/messages', 'claude-sonnet-4-5', 'anthropic'],
    ['/v1/messages', 'some-custom-model', 'anthropic'],
    ['/v1/chat/completions', 'gpt-4o-mini', 'openai'],
    ['/v1/chat/completions', 'gpt-4.1', 'openai'],
    ['/v1/chat/completions', 'o1-mini', 'openai'],
    ['/v1/chat/completions', 'o3-mini', 'openai'],
    ['/v1/chat/completions', 'o4-mini', 'openai'],
    ['/v1/chat/completions', 'chatgpt-4o-latest', 'openai'],
    ['/v1/embeddings', 'text-embedding-3-small', 'openai'],
    ['/v1/images/generations', 'dall-e-3', 'openai'],
    ['/v1/audio/speech', 'tts-1', 'openai'],
    ['/v1/audio/translations', 'whisper-1', 'openai'],
    ['/v1/chat/completions', 'gemini-1.5-pro', 'google'],
    ['/v1/chat/completions', 'mistral-large-latest', 'mistral'],
    ['/v1/chat/completions', 'codestral-latest', 'mistral'],
    ['/v1/chat/completions', 'llama-3-70b', 'other'],
    ['/v1/chat/completions', 'GPT-4O', 'other'],
    ['/v1/chat/completions', 'my-gpt-4', 'other'],
  ];
  for (const [p, model, expected] of autodetect) {
    test(`auto-detection: ${model} on ${p} -> ${expected}`, async () => {
      const raw = JSON.stringify({ model, input: 'x', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 });
      const { res, rec } = await send(org.s.apiKey, p, { raw });
      assert.ok(rec, `nothing reached the mock: ${res.status} ${res.text}`);
      assert.equal(rec.label, expected);
      assert.equal(res.headers['x-gatehouse-provider'], expected);
      // Every provider here is OpenAI-format: Anthropic requests are
      // translated.
      const translated = p === '/v1/messages';
      assert.equal(rec.path, translated ? '/v1/chat/completions' : p);
      if (!translated) assert.equal(rec.text, raw, 'the body is relayed untouched');
    });
  }

  test('a request without a model goes to the default provider', async () => {
    const { res, rec } = await send(org.s.apiKey, '/v1/files/file-abc', { method: 'DELETE' });
    assert.equal(rec.label, 'other');
    assert.equal(rec.method, 'DELETE');
    assert.equal(res.headers['x-gatehouse-provider'], 'other');
  });

  test('auto-detection needs a provider of that name; else the default', async () => {
    // Enterprise: /v1/messages to the OpenAI-format `other` is translated.
    const o = await orgWith(['other'], { plan: 'enterprise' });
    for (const model of ['gpt-4o-mini', 'claude-3-5-haiku-latest', 'gemini-1.5-pro']) {
      const { res, rec } = await chat(o.s.apiKey, model);
      assert.equal(res.status, 200, res.text);
      assert.equal(rec.label, 'other');
    }
    const { rec } = await send(o.s.apiKey, '/v1/messages', { body: { model: 'x', max_tokens: 5, messages: [] } });
    assert.equal(rec.label, 'other');
  });

  test('no match and no default -> 400 provider_required', async () => {
    const o = await orgWith(['doomed', 'openai']);
    expectOk(await gh.api('DELETE', '/api/v1/providers/doomed', { token: o.s.token }));
    const ok = await chat(o.s.apiKey, 'gpt-4o-mini');
    assert.equal(ok.rec.label, 'openai');
    for (const model of ['llama-3-70b', 'claude-3-5-haiku-latest']) {
      const { res, rec } = await chat(o.s.apiKey, model);
      expectError(res, 400, 'provider_required');
      assert.equal(rec, undefined);
    }
    const m = await send(o.s.apiKey, '/v1/messages', { body: { model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [] } });
    expectError(m.res, 400, 'provider_required');
    const none = await send(o.s.apiKey, '/v1/files', { method: 'GET' });
    expectError(none.res, 400, 'provider_required');
  });

  test('an org without providers -> 400 provider_required', async () => {
    const s = await signup(gh);
    const { res } = await chat(s.apiKey, 'gpt-4o-mini');
    expectError(res, 400, 'provider_required');
  });
});

describe('scopes', () => {
  let org;
  before(async () => {
    org = await orgWith(['openai', 'anthropic'], { extra: { anthropic: { format: 'openai' } } });
  });

  test('provider:anthropic may not call openai', async () => {
    const { raw_key } = await createKey(gh, org.s, { name: 'anthropic-only', scopes: ['provider:anthropic'] });
    for (const o of [{}, { headers: { 'x-gatehouse-provider': 'openai' } }]) {
      const { res, rec } = await chat(raw_key, 'gpt-4o-mini', o);
      expectError(res, 403, 'scope_denied');
      assert.equal(rec, undefined);
    }
    const denied = await chat(raw_key, 'openai/claude-3-5-haiku-latest');
    expectError(denied.res, 403, 'scope_denied');
    const { res, rec } = await chat(raw_key, 'claude-3-5-haiku-latest');
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.label, 'anthropic');
  });

  test('model:gpt-4o may not call gpt-4o-mini', async () => {
    const { raw_key } = await createKey(gh, org.s, { name: 'gpt-4o-only', scopes: ['model:gpt-4o'] });
    const denied = await chat(raw_key, 'gpt-4o-mini');
    expectError(denied.res, 403, 'scope_denied');
    assert.equal(denied.rec, undefined);
    assert.equal((await chat(raw_key, 'gpt-4o')).res.status, 200);
    // The scope names the model as the upstream sees it.
    const prefixed = await chat(raw_key, 'openai/gpt-4o');
    assert.equal(prefixed.res.status, 200, prefixed.res.text);
    assert.equal(prefixed.rec.json.model, 'gpt-4o');
  });

  test('provider and model scopes together', async () => {
    const { raw_key } = await createKey(gh, org.s, { name: 'both', scopes: ['provider:openai', 'model:gpt-4o-mini'] });
    assert.equal((await chat(raw_key, 'gpt-4o-mini')).res.status, 200);
    expectError((await chat(raw_key, 'gpt-4o')).res, 403, 'scope_denied');
    expectError((await chat(raw_key, 'gpt-4o-mini', { headers: { 'x-gatehouse-provider': 'anthropic' } })).res,
      403, 'scope_denied');
  });
});

describe('forwarding', () => {
  let org;
  before(async () => {
    org = await orgWith(['openai', 'anthropic', 'token', 'pass', 'slashy'], {
      plan: 'enterprise',
      extra: {
        anthropic: { auth_header: 'x-api-key', auth_scheme: '' },
        token: { auth_scheme: 'Token' },
        pass: { auth_mode: 'passthrough', api_key: undefined },
      },
    });
    // `slashy` has a trailing slash on its base URL.
    expectOk(await gh.api('PUT', '/api/v1/providers/slashy', {
      token: org.s.token, body: { base_url: `${mock.url}/p/slashy/` },
    }));
  });

  test('URL = base_url + path + query', async () => {
    const q = '?api-version=2024-06-01&x=a%20b&empty=';
    const { res, rec } = await send(org.s.apiKey, `/v1/chat/completions${q}`, { body: chatBody('gpt-4o-mini') });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.url, `/p/openai/v1/chat/completions${q}`);
    const slash = await chat(org.s.apiKey, 'gpt-4o-mini', { headers: { 'x-gatehouse-provider': 'slashy' } });
    assert.equal(slash.rec.url, '/p/slashy/v1/chat/completions', 'no double slash');
  });

  test('hop-by-hop and X-Gatehouse-* headers are dropped; Host is the upstream', async () => {
    const tag = hex(8);
    const payload = JSON.stringify(chatBody('gpt-4o-mini'));
    const res = await rawRequest(gh.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: {
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
        'x-gatehouse-key': org.s.apiKey,
        'x-gatehouse-provider': 'openai',
        'x-gatehouse-session-id': 'sess-hop',
        'x-gatehouse-user-id': 'user-hop',
        'x-gatehouse-metadata': '{"a":1}',
        'x-gatehouse-anything': 'x',
        connection: 'keep-alive, x-hop-marker',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
        te: 'trailers',
        trailer: 'x-checksum',
        upgrade: 'h2c',
        'x-test-tag': tag,
        'x-custom-client': 'kept',
        'openai-organization': 'org-123',
        'user-agent': 'gatehouse-tests/1.0',
      },
      write: (req) => {
        // A chunked body with a trailer, as announced by the Trailer header.
        req.write(payload.slice(0, 10));
        req.write(payload.slice(10));
        req.addTrailers({ 'x-checksum': 'abc' });
        req.end();
      },
    });
    assert.equal(res.status, 200, res.text);
    const rec = recordOf(tag);
    const h = rec.headers;
    for (const name of ['keep-alive', 'proxy-authorization', 'te', 'trailer', 'upgrade']) {
      assert.equal(h[name], undefined, `${name} was forwarded`);
    }
    assert.ok(!String(h.connection ?? '').includes('x-hop-marker'), 'the client Connection header was forwarded');
    for (const name of Object.keys(h)) assert.ok(!name.startsWith('x-gatehouse-'), `${name} was forwarded`);
    assert.equal(h.host, `127.0.0.1:${mock.port}`);
    assert.equal(h['x-custom-client'], 'kept');
    assert.equal(h['openai-organization'], 'org-123');
    assert.equal(h['user-agent'], 'gatehouse-tests/1.0');
    assert.match(h['content-type'], /^application\/json/);
    assert.equal(rec.text, payload);
  });

  test('api_key mode: the client Authorization is replaced by the stored key', async () => {
    const { res, rec } = await chat(org.s.apiKey, 'gpt-4o-mini', { headers: { authorization: 'Bearer client-dummy-key' } });
    assert.equal(res.status, 200);
    assert.equal(rec.headers.authorization, `Bearer ${org.keys.openai}`);
    assert.ok(!JSON.stringify(rec.rawHeaders).includes('client-dummy-key'));
    // Without any client auth header the key is added.
    const bare = await chat(org.s.apiKey, 'gpt-4o-mini');
    assert.equal(bare.rec.headers.authorization, `Bearer ${org.keys.openai}`);
  });

  test('api_key mode with auth_header x-api-key and an empty scheme sends the bare key', async () => {
    const { res, rec } = await send(org.s.apiKey, '/v1/messages', {
      body: { model: 'claude-3-5-haiku-latest', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
      headers: { 'X-Api-Key': 'client-dummy-key', 'anthropic-version': '2023-06-01' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.label, 'anthropic');
    assert.equal(rec.headers['x-api-key'], org.keys.anthropic);
    assert.equal(rec.headers['anthropic-version'], '2023-06-01');
    const names = rec.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    assert.equal(names.filter((n) => n === 'x-api-key').length, 1, 'exactly one x-api-key header');
    assert.ok(!JSON.stringify(rec.rawHeaders).includes('client-dummy-key'));
  });

  test('a custom scheme', async () => {
    const { rec } = await chat(org.s.apiKey, 'gpt-4o-mini', { headers: { 'x-gatehouse-provider': 'token' } });
    assert.equal(rec.headers.authorization, `Token ${org.keys.token}`);
  });

  test('passthrough: the client Authorization reaches the upstream unchanged', async () => {
    const own = `Bearer sk-client-own-${hex(8)}`;
    const { res, rec } = await chat(org.s.apiKey, 'gpt-4o-mini', {
      headers: { 'x-gatehouse-provider': 'pass', authorization: own },
    });
    assert.equal(res.status, 200);
    assert.equal(rec.headers.authorization, own);
    const none = await chat(org.s.apiKey, 'gpt-4o-mini', { headers: { 'x-gatehouse-provider': 'pass' } });
    assert.equal(none.rec.headers.authorization, undefined);
  });

  test('the request body reaches the upstream byte for byte', async () => {
    const raw = '{\n  "zzz": 1,  "model" : "gpt-4o-mini",\n"messages":[{"role":"user","content":"h\\u00e9llo ☃ \\ud83d\\ude00"}],'
      + ' "aaa": {"n": 1.50, "e": 1e3, "list": [ ]}, "dup": 1, "dup": 2 }';
    const { res, rec } = await send(org.s.apiKey, '/v1/chat/completions', { raw });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.label, 'openai');
    assert.deepEqual(rec.body, Buffer.from(raw, 'utf8'));
  });

  test('a JSON body that does not parse is refused and never relayed', async () => {
    const raw = 'this is not json {';
    const { res, rec } = await send(org.s.apiKey, '/v1/chat/completions', {
      raw, headers: { 'x-gatehouse-provider': 'openai' },
    });
    assert.equal(rec, undefined, 'nothing reaches the provider');
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error_code, 'invalid_request');
    assert.match(res.json.message, /not valid JSON/);
  });

  test('a body of another content type is relayed as it is', async () => {
    const raw = 'model=whisper-1&this is not json {';
    const { res, rec } = await send(org.s.apiKey, '/v1/audio/transcriptions', {
      raw,
      headers: {
        'x-gatehouse-provider': 'openai',
        'content-type': 'application/x-www-form-urlencoded',
      },
    });
    assert.ok(rec, 'the provider got the request');
    assert.deepEqual(rec.body, Buffer.from(raw));
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
  });

  test('other methods and paths are relayed', async () => {
    const { res, rec } = await send(org.s.apiKey, '/v1/files/file-123?purpose=x', {
      method: 'DELETE', headers: { 'x-gatehouse-provider': 'openai' },
    });
    assert.equal(rec.method, 'DELETE');
    assert.equal(rec.url, '/p/openai/v1/files/file-123?purpose=x');
    assert.equal(res.status, 404, 'the mock knows no such file');
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    assert.equal(res.headers['x-gatehouse-provider'], 'openai');
  });
});

describe('answers', () => {
  let org;
  let dead;
  before(async () => {
    org = await orgWith(['openai', 'anthropic']);
    dead = await closedPortUrl();
    await createProvider(gh, org.s, { name: 'dead', base_url: dead, api_key: `sk-dead-${hex(12)}` });
  });

  test('status, headers and body are relayed, plus the Gatehouse headers', async () => {
    const { res, rec } = await chat(org.s.apiKey, 'gpt-4o-mini');
    assert.equal(res.status, 200);
    assert.equal(res.text, mock.sent(rec).toString('utf8'), 'the body is relayed byte for byte');
    assert.equal(res.json.choices[0].message.content, REPLY_TEXT);
    assert.deepEqual(res.json.usage, { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 });
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.equal(res.headers['openai-processing-ms'], '7');
    assert.equal(res.headers['x-mock-kind'], 'chat');
    assert.equal(res.headers['x-mock-request'], String(rec.id));
    assert.equal(res.headers['x-gatehouse-provider'], 'openai');
    assert.match(res.headers['x-gatehouse-request-id'], /^\S{8,}$/);
  });

  test('every answer has its own request id', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => chat(org.s.apiKey, 'gpt-4o-mini')));
    const ids = results.map(({ res }) => res.headers['x-gatehouse-request-id']);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('Anthropic answers are relayed', async () => {
    const body = { model: 'claude-3-5-haiku-latest', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] };
    const { res, rec } = await send(org.s.apiKey, '/v1/messages', { body });
    assert.equal(res.status, 200);
    assert.equal(rec.label, 'anthropic');
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    assert.equal(res.json.content[0].text, REPLY_TEXT);
    assert.equal(res.headers['request-id'], `req_mock_${rec.id}`);
    assert.equal(res.headers['x-gatehouse-provider'], 'anthropic');
  });

  test('embeddings are relayed', async () => {
    const { res, rec } = await send(org.s.apiKey, '/v1/embeddings', {
      body: { model: 'text-embedding-3-small', input: ['a', 'b'] },
    });
    assert.equal(res.status, 200);
    assert.equal(rec.label, 'openai');
    assert.equal(res.json.data.length, 2);
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
  });

  for (const status of [400, 401, 404, 422, 429, 500, 503]) {
    test(`an upstream ${status} is relayed as it is`, async () => {
      const { res, rec } = await chat(org.s.apiKey, 'gpt-4o-mini', { headers: { 'x-mock-status': String(status) } });
      assert.equal(res.status, status);
      assert.equal(res.text, mock.sent(rec).toString('utf8'));
      assert.equal(res.json.error.code, `mock_${status}`);
      assert.equal(res.headers['x-gatehouse-provider'], 'openai');
      assert.ok(res.headers['x-gatehouse-request-id']);
    });
  }

  test('an unreachable upstream -> 502 upstream_error', async () => {
    const { res } = await chat(org.s.apiKey, 'gpt-4o-mini', { headers: { 'x-gatehouse-provider': 'dead' } });
    expectError(res, 502, 'upstream_error');
  });

  test('an upstream slower than --upstream-timeout -> 504 upstream_timeout', async () => {
    const t0 = Date.now();
    const { res, rec } = await chat(org.s.apiKey, 'gpt-4o-mini', { headers: { 'x-mock-delay-ms': '3000' } });
    const ms = Date.now() - t0;
    expectError(res, 504, 'upstream_timeout');
    assert.ok(ms >= 1500 && ms < 2950, `answered after ${ms} ms, expected about 2000`);
    assert.ok(rec, 'the request reached the upstream');
    await mock.waitForClose((c) => c.request === rec, 3000);
  });

  test('the server keeps serving after upstream failures', async () => {
    const { res } = await chat(org.s.apiKey, 'gpt-4o-mini');
    assert.equal(res.status, 200);
  });
});

describe('body limits', () => {
  let org;
  before(async () => {
    org = await orgWith(['openai']);
  });

  test('a 2 MiB body is forwarded intact', async () => {
    const base = JSON.stringify(chatBody('gpt-4o-mini', { padding: '' }));
    const raw = JSON.stringify(chatBody('gpt-4o-mini', { padding: 'x'.repeat(2 * MiB - Buffer.byteLength(base)) }));
    assert.equal(Buffer.byteLength(raw), 2 * MiB);
    const { res, rec } = await send(org.s.apiKey, '/v1/chat/completions', { raw });
    assert.equal(res.status, 200, res.text.slice(0, 500));
    assert.equal(rec.body.length, 2 * MiB);
    assert.equal(sha256Hex(rec.body), sha256Hex(raw));
  });

  test('a body over 8 MiB (Content-Length) -> 413 payload_too_large', async () => {
    const tag = hex(8);
    const body = Buffer.alloc(8 * MiB + 1, 0x20);
    body[0] = 0x7b;
    body[body.length - 1] = 0x7d;
    const res = await rawRequest(gh.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: {
        'content-type': 'application/json', 'content-length': String(body.length), 'x-gatehouse-key': org.s.apiKey,
        'x-test-tag': tag,
      },
      write(req, answered) {
        req.flushHeaders();
        setTimeout(() => {
          if (!answered()) req.end(body);
        }, 300);
      },
    });
    expectError(res, 413, 'payload_too_large');
    assert.equal(recordOf(tag), undefined, 'nothing was forwarded');
  });

  test('a chunked body over 8 MiB -> 413 payload_too_large', async () => {
    const tag = hex(8);
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const res = await rawRequest(gh.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: {
        'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-gatehouse-key': org.s.apiKey,
        'x-test-tag': tag,
      },
      write(req, answered) {
        let sent = 0;
        req.write('{"model": "gpt-4o-mini", "pad": "');
        const pump = () => {
          if (answered()) return;
          if (sent > 9 * MiB) {
            req.end('"}');
            return;
          }
          sent += chunk.length;
          req.write(chunk, () => setImmediate(pump));
        };
        pump();
      },
    });
    expectError(res, 413, 'payload_too_large');
    assert.equal(recordOf(tag), undefined, 'nothing was forwarded');
    const { res: after } = await chat(org.s.apiKey, 'gpt-4o-mini');
    assert.equal(after.status, 200);
  });
});

describe('GET /v1/models', () => {
  let org;
  before(async () => {
    org = await orgWith(['openai', 'anthropic', 'other']);
  });

  const ids = (json) => json.data.map((m) => m.id);

  test('the union of the models of every provider, without duplicates', async () => {
    const res = await gh.api('GET', '/v1/models', { key: org.s.apiKey });
    const json = expectOk(res);
    assert.equal(json.object, 'list');
    assert.ok(Array.isArray(json.data));
    const got = ids(json);
    assert.equal(new Set(got).size, got.length, `duplicates in ${got}`);
    assert.deepEqual([...got].sort(), [...DEFAULT_MODELS, ...CLAUDE_MODELS].map((m) => m.id).sort());
    for (const m of json.data) {
      const original = [...DEFAULT_MODELS, ...CLAUDE_MODELS].find((x) => x.id === m.id);
      assert.equal(m.object, 'model');
      assert.equal(m.owned_by, original.owned_by);
    }
    // Each provider was asked with its own key.
    for (const name of ['openai', 'anthropic', 'other']) {
      const rec = mock.lastRequest((r) => r.label === name && r.path === '/v1/models');
      assert.ok(rec, `${name} was not asked for its models`);
      assert.equal(rec.method, 'GET');
      assert.equal(rec.headers.authorization, `Bearer ${org.keys[name]}`);
    }
  });

  test('filtered by model scopes', async () => {
    const { raw_key } = await createKey(gh, org.s, { name: 'only-4o', scopes: ['model:gpt-4o'] });
    assert.deepEqual(ids(expectOk(await gh.api('GET', '/v1/models', { key: raw_key }))), ['gpt-4o']);
    const two = await createKey(gh, org.s, { name: 'two', scopes: ['model:gpt-4o', 'model:claude-sonnet-4-5', 'model:nope'] });
    assert.deepEqual(ids(expectOk(await gh.api('GET', '/v1/models', { key: two.raw_key }))).sort(),
      ['claude-sonnet-4-5', 'gpt-4o']);
  });

  test('filtered by provider scopes', async () => {
    const { raw_key } = await createKey(gh, org.s, { name: 'anthropic-only', scopes: ['provider:anthropic'] });
    assert.deepEqual(ids(expectOk(await gh.api('GET', '/v1/models', { key: raw_key }))).sort(),
      CLAUDE_MODELS.map((m) => m.id).sort());
  });

  test('an org without providers has no models; a bad key -> 401', async () => {
    const s = await signup(gh);
    assert.deepEqual(expectOk(await gh.api('GET', '/v1/models', { key: s.apiKey })), { object: 'list', data: [] });
    expectError(await gh.api('GET', '/v1/models', { key: `sk-gate-${hex(32)}` }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/v1/models'), 401, 'unauthorized');
  });
});

describe('X-Gatehouse-* request headers', () => {
  let org;
  before(async () => {
    org = await orgWith(['openai']);
  });

  test('valid ones are accepted and never forwarded', async () => {
    const { res, rec } = await chat(org.s.apiKey, 'gpt-4o-mini', {
      headers: {
        'x-gatehouse-session-id': 'sess-1', 'x-gatehouse-user-id': 'end-user-9',
        'x-gatehouse-metadata': '{"feature":"search","n":1}',
      },
    });
    assert.equal(res.status, 200, res.text);
    for (const name of Object.keys(rec.headers)) assert.ok(!name.startsWith('x-gatehouse-'), `${name} was forwarded`);
    assert.ok(!JSON.stringify(rec.rawHeaders).includes('sess-1'));
    assert.ok(!JSON.stringify(rec.rawHeaders).includes('end-user-9'));
  });

  test('X-Gatehouse-Metadata must be a JSON object', async () => {
    for (const bad of ['not json', '{"a":', '[1,2]', '"text"', '42', 'null', 'true']) {
      const { res, rec } = await chat(org.s.apiKey, 'gpt-4o-mini', { headers: { 'x-gatehouse-metadata': bad } });
      expectError(res, 400, 'invalid_request', 'X-Gatehouse-Metadata');
      assert.equal(rec, undefined);
    }
  });
});
