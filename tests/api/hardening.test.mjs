// Hostile input from clients, tenants' settings and upstreams: every answer
// keeps the API error shape, nothing reaches a provider that should not,
// usage survives compression, and after each hostile request the node still
// answers /healthz. Bytes that node:http refuses to send go over raw
// sockets.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, assertHealthy, buildRequest, connect, createProvider, dropDatabase, expectError, expectOk,
  freshDatabase, getLogs, hex, poll,
  rawExchange, rawRequest, readResponse, setPlan, sharedNode, signup, sseData, startGatehouse, streamRequest,
  waitClosed, waitForLog,
} from './harness.mjs';
import { DEFAULT_MODELS, REPLY_TEXT, startMockUpstream } from './mock_upstream.mjs';

const MiB = 1024 * 1024;
const OTHER_MODELS = [{ id: 'hidden-model-1', object: 'model', created: 1, owned_by: 'mock' }];

let mock;
const retired = [];

before(async () => {
  mock = await startMockUpstream({
    models: { deepm: OTHER_MODELS, cutm: OTHER_MODELS },
    faults: { deepm: 'deep-json', cutm: 'close-mid-body' },
  });
});

after(async () => {
  for (const gh of retired) await gh.dispose();
  const code = await shared.dispose();
  await mock?.close();
  if (code !== null && code !== undefined) assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

/// Signs up an enterprise org with providers `openai` (the default) and
/// `anthropic` on the mock; {s, keys}.
async function orgOn(gh, names = ['openai', 'anthropic']) {
  const s = await signup(gh);
  await setPlan(gh, s.org.id, 'enterprise');
  const keys = {};
  for (const name of names) {
    keys[name] = `sk-up-${name}-${hex(16)}`;
    await createProvider(gh, s, { name, base_url: `${mock.url}/p/${name}`, api_key: keys[name] });
  }
  return { s, keys };
}

/// The node most tests share, with one org (see sharedNode). Tests that
/// read the request log use an org of their own, so that an entry another
/// test left cannot fail them.
const shared = sharedNode({ args: [...PROXY_ARGS] }, (gh) => orgOn(gh));

function chatBody(model = 'gpt-4o-mini', extra = {}) {
  return { model, messages: [{ role: 'user', content: 'Say hello.' }], ...extra };
}

function recordOf(tag) {
  return mock.lastRequest((r) => r.headers['x-test-tag'] === tag);
}

/// Fails unless `buf` is valid UTF-8.
function assertUtf8(buf, what = 'the answer') {
  assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(buf), `${what} is not valid UTF-8`);
}

/// Sends a proxied request over a raw socket. `headers` are [name, value]
/// pairs (a value may be a Buffer); `contentType` null sends none (default
/// application/json when there is a body); returns {res, rec, tag}.
async function rawProxy(gh, key, {
  method = 'POST', path = '/v1/chat/completions', headers = [], body, contentType = 'application/json',
} = {}) {
  const tag = hex(8);
  const payload = body === undefined ? JSON.stringify(chatBody()) : body;
  const all = [['X-Gatehouse-Key', key], ['X-Test-Tag', tag], ...headers];
  if (contentType && payload !== null) all.push(['Content-Type', contentType]);
  const res = await gh.raw(buildRequest({ method, path, headers: all, body: payload ?? undefined }));
  return { res, rec: recordOf(tag), tag };
}

/// Sends a proxied request with fetch and a tag; {res, rec}.
async function send(gh, key, p, { method = 'POST', body, raw, headers = {} } = {}) {
  const tag = hex(8);
  const res = await gh.api(method, p, { key, body, raw, headers: { 'x-test-tag': tag, ...headers } });
  return { res, rec: recordOf(tag) };
}

describe('X-Gatehouse-* request headers (behaviour 2)', () => {
  const HEADERS = ['X-Gatehouse-Provider', 'X-Gatehouse-Session-Id', 'X-Gatehouse-User-Id', 'X-Gatehouse-Metadata'];
  const INVALID_UTF8 = {
    'a lone 0xff': Buffer.from([0x61, 0xff, 0x62]),
    'a lone continuation byte': Buffer.from([0x61, 0x80, 0x62]),
    'an overlong slash': Buffer.from([0x61, 0xc0, 0xaf]),
    'a truncated sequence': Buffer.from([0x61, 0xe2, 0x82]),
    'an encoded surrogate': Buffer.from([0xed, 0xa0, 0x80]),
  };
  const CONTROL = { NUL: 0x00, SOH: 0x01, ESC: 0x1b, DEL: 0x7f };

  /// Wraps raw bytes as the header's value (inside a JSON string for the
  /// metadata header, which must stay an object).
  function valueFor(header, bytes) {
    if (header !== 'X-Gatehouse-Metadata') return bytes;
    return Buffer.concat([Buffer.from('{"note":"'), bytes, Buffer.from('"}')]);
  }

  /// 400 invalid_request naming `header`; for control bytes the HTTP parser
  /// may refuse the line instead ("malformed HTTP request").
  function expectRefused(res, header, parserMayRefuse) {
    const { message } = expectError(res, 400, 'invalid_request');
    assertUtf8(res.body);
    assert.ok(message.length <= 512, `message of ${message.length} characters`);
    if (parserMayRefuse && /malformed/i.test(message)) return;
    assert.ok(message.toLowerCase().includes(header.toLowerCase()), `'${message}' does not name ${header}`);
  }

  for (const header of HEADERS) {
    test(`${header}: invalid UTF-8 -> 400 naming it, nothing forwarded`, async () => {
      const { gh, s } = await shared();
      for (const [what, bytes] of Object.entries(INVALID_UTF8)) {
        const { res, rec } = await rawProxy(gh, s.apiKey, { headers: [[header, valueFor(header, bytes)]] });
        await assertHealthy(gh, `${header} with ${what}`);
        expectRefused(res, header, false);
        assert.equal(rec, undefined, `${what} reached the upstream`);
      }
    });

    test(`${header}: control bytes -> 400, nothing forwarded`, async () => {
      const { gh, s } = await shared();
      for (const [what, byte] of Object.entries(CONTROL)) {
        const bytes = Buffer.from([0x61, byte, 0x62]);
        const { res, rec } = await rawProxy(gh, s.apiKey, { headers: [[header, valueFor(header, bytes)]] });
        await assertHealthy(gh, `${header} with ${what}`);
        expectRefused(res, header, true);
        assert.equal(rec, undefined, `${what} reached the upstream`);
      }
    });
  }

  for (const header of ['X-Gatehouse-Provider', 'X-Gatehouse-Session-Id', 'X-Gatehouse-User-Id']) {
    test(`${header}: 257 bytes -> 400 naming it`, async () => {
      const { gh, s } = await shared();
      const { res, rec } = await rawProxy(gh, s.apiKey, { headers: [[header, 'a'.repeat(257)]] });
      expectRefused(res, header, false);
      assert.equal(rec, undefined);
      await assertHealthy(gh);
    });
  }

  test('X-Gatehouse-Metadata nested 5,000 deep -> 400 naming it', async () => {
    const { gh, s } = await shared();
    const deep = `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const { res, rec } = await rawProxy(gh, s.apiKey, { headers: [['X-Gatehouse-Metadata', deep]] });
    await assertHealthy(gh, 'deeply nested metadata');
    expectRefused(res, 'X-Gatehouse-Metadata', false);
    assert.equal(rec, undefined);
  });

  test('valid UTF-8 and 256-byte values pass and are logged as sent', async () => {
    const { gh } = await shared();
    const { s } = await orgOn(gh);
    const session = `sess-ü-☃-${hex(4)}`;
    const user = 'u'.repeat(256);
    const { res, rec } = await send(gh, s.apiKey, '/v1/chat/completions', {
      body: chatBody(),
      headers: {
        'x-gatehouse-session-id': Buffer.from(session, 'utf8').toString('latin1'),
        'x-gatehouse-user-id': user,
        'x-gatehouse-metadata': Buffer.from('{"city":"Zürich"}', 'utf8').toString('latin1'),
      },
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(rec, 'the request reached the upstream');
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.session_id, session);
    assert.equal(entry.end_user, user);
    assert.deepEqual(entry.metadata, { city: 'Zürich' });
  });
});

describe('management path parameters (behaviour 3)', () => {
  test('invalid UTF-8 in {id} and {name} -> 404 not_found with a JSON body', async () => {
    const { gh, s } = await shared();
    const cases = [
      ['GET', '/api/v1/providers/%FF'],
      ['PUT', '/api/v1/providers/%FF', {}],
      ['DELETE', '/api/v1/providers/%C0%AF'],
      ['GET', '/api/v1/teams/%FF%FE'],
      ['PUT', '/api/v1/teams/%FF', { description: 'x' }],
      ['DELETE', '/api/v1/teams/%ED%A0%80'],
      ['GET', '/api/v1/apps/%FF'],
      ['GET', '/api/v1/apps/%FF/info'],
      ['DELETE', '/api/v1/keys/%FF'],
      ['POST', '/api/v1/keys/%FF/rotate', {}],
      ['PUT', '/api/v1/users/%FF', { role: 'viewer' }],
      ['POST', '/api/v1/users/%80/suspend', {}],
    ];
    for (const [method, p, body] of cases) {
      const res = await gh.api(method, p, { token: s.token, body });
      await assertHealthy(gh, `${method} ${p}`);
      expectError(res, 404, 'not_found');
    }
    const op = await gh.api('PUT', '/api/v1/admin/orgs/%FF%FE/plan', {
      token: gh.operatorToken, body: { plan: 'free' },
    });
    await assertHealthy(gh, 'PUT /api/v1/admin/orgs/%FF%FE/plan');
    expectError(op, 404, 'not_found');
  });

  test('raw non-UTF-8 bytes in a path parameter -> an error in the API shape', async () => {
    const { gh, s } = await shared();
    const target = Buffer.concat([Buffer.from('/api/v1/providers/'), Buffer.from([0xff, 0xfe])]);
    const res = await gh.raw(Buffer.concat([
      Buffer.from('GET '), target,
      Buffer.from(` HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\nConnection: close\r\n\r\n`),
    ]));
    await assertHealthy(gh, 'a raw 0xff in a path');
    assert.ok([400, 404].includes(res.status), `status ${res.status}: ${res.text}`);
    expectError(res, res.status, res.status === 404 ? 'not_found' : 'invalid_request');
    assertUtf8(res.body);
  });
});

describe('text parameters that reach storage (behaviour 1: no escaped exception)', () => {
  const BAD = { 'invalid UTF-8': '%FF%FE', 'an overlong slash': '%C0%AF', 'a NUL': 'a%00b' };

  /// 200 with nothing found, or 400 invalid_request; never a 5xx.
  function expectNothingOrRefused(res, what) {
    assert.ok(res.status < 500, `${what}: ${res.status} ${res.text}`);
    if (res.status === 400) {
      expectError(res, 400, 'invalid_request');
      return;
    }
    const json = expectOk(res);
    const list = Object.values(json).find(Array.isArray);
    assert.deepEqual(list, [], `${what} found something`);
  }

  test('query filters of lists', async () => {
    const { gh, s } = await shared();
    const filters = [
      '/api/v1/logs?provider=', '/api/v1/logs?model=', '/api/v1/logs?session_id=', '/api/v1/audit?action=',
      '/api/v1/audit?actor_id=', '/api/v1/audit?target_type=', '/api/v1/audit?target_id=', '/api/v1/teams?q=',
      '/api/v1/users?q=',
    ];
    const failures = [];
    for (const f of filters) {
      for (const [what, value] of Object.entries(BAD)) {
        const res = await gh.api('GET', `${f}${value}`, { token: s.token });
        await assertHealthy(gh, `${f} with ${what}`);
        try {
          expectNothingOrRefused(res, `${f}${value}`);
        } catch (e) {
          failures.push(e.message.split('\n')[0]);
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  test('a raw non-UTF-8 provider name in the path -> 404 (or 400)', async () => {
    const { gh, s } = await shared();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await gh.raw(Buffer.concat([
        Buffer.from(`${method} /api/v1/providers/`), Buffer.from([0xff, 0xfe]),
        Buffer.from(` HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\nContent-Type: application/json\r\n`
          + 'Content-Length: 2\r\nConnection: close\r\n\r\n{}'),
      ]));
      await assertHealthy(gh, `${method} of a raw 0xff provider name`);
      assert.ok([400, 404].includes(res.status), `${method}: ${res.status} ${res.text}`);
      expectError(res, res.status, res.status === 404 ? 'not_found' : 'invalid_request');
    }
  });

  test('login with a NUL in the email -> 401 or 400, never 500', async () => {
    const { gh } = await shared();
    for (const email of ['a\u0000@example.com', 'a@example.com\u0000', '\u0000']) {
      const res = await gh.api('POST', '/api/v1/login', { body: { email, password: 'pw-0123456789' } });
      await assertHealthy(gh, 'a login with a NUL');
      assert.ok([400, 401].includes(res.status), `${JSON.stringify(email)}: ${res.status} ${res.text}`);
      expectError(res, res.status, res.status === 401 ? 'invalid_credentials' : 'invalid_request');
    }
  });

  test('a price for a model name with a NUL -> refused or stored, never 500', async () => {
    const { gh } = await shared();
    const { s } = await orgOn(gh);
    for (const model of ['gpt\u0000x', 'gpt\u001bx']) {
      const body = { models: { [model]: { input_per_mtok: 1, output_per_mtok: 2 } } };
      const res = await gh.api('PUT', '/api/v1/pricing', { token: s.token, body });
      await assertHealthy(gh, 'a price for a model with a control character');
      assert.ok([200, 400].includes(res.status), `${JSON.stringify(model)}: ${res.status} ${res.text}`);
      if (res.status === 400) expectError(res, 400, 'invalid_request', 'models');
      expectOk(await gh.api('GET', '/api/v1/pricing', { token: s.token }));
    }
  });
});

describe('provider settings that become header bytes (behaviour 4)', () => {
  async function providerNames(gh, s) {
    const { providers } = expectOk(await gh.api('GET', '/api/v1/providers', { token: s.token }));
    return providers.map((p) => p.name).sort();
  }

  /// POSTs each body; each must get 400 naming `field` and create nothing.
  async function refusedOnCreate(field, values) {
    const { gh, s } = await shared();
    const before = await providerNames(gh, s);
    for (const [what, value] of Object.entries(values)) {
      const name = `p-${hex(4)}`;
      const res = await gh.api('POST', '/api/v1/providers', {
        token: s.token, body: { name, base_url: `${mock.url}/p/${name}`, api_key: `sk-${hex(8)}`, [field]: value },
      });
      await assertHealthy(gh, `a provider with ${field} ${what}`);
      expectError(res, 400, 'invalid_request', field);
      expectError(await gh.api('GET', `/api/v1/providers/${name}`, { token: s.token }), 404, 'not_found');
    }
    assert.deepEqual(await providerNames(gh, s), before, 'no provider was created');
  }

  const injected = (v) => `${v}\r\nX-Injected: 1`;

  test('api_key over 4096 bytes or with control bytes -> 400 naming api_key', async () => {
    await refusedOnCreate('api_key', {
      '70,000 chars long': 'k'.repeat(70_000),
      '4097 bytes long': 'k'.repeat(4097),
      'with CR LF': injected('sk-live'),
      'with LF': 'sk-a\nX-Injected: 1',
      'with NUL': 'sk-a\u0000b',
      'with TAB': 'sk-a\tb',
      'with ESC': 'sk-a\u001bb',
      'with DEL': 'sk-a\u007fb',
    });
  });

  test('auth_header must be an HTTP token of at most 128 bytes', async () => {
    await refusedOnCreate('auth_header', {
      'with CR LF': injected('x-api-key'),
      'with a space': 'x api key',
      'with a colon': 'x-api-key:',
      '129 bytes long': 'x'.repeat(129),
      'non-ASCII': 'x-äpi-key',
    });
  });

  test('auth_scheme must be empty or an HTTP token of at most 64 bytes', async () => {
    await refusedOnCreate('auth_scheme', {
      'with CR LF': injected('Bearer'),
      'with a space': 'Bear er',
      '65 bytes long': 'B'.repeat(65),
      'with NUL': 'Bearer\u0000',
    });
  });

  test('base_url: at most 2048 bytes, no control bytes or spaces', async () => {
    await refusedOnCreate('base_url', {
      'with CR LF': injected(`${mock.url}/p/x`),
      'with a space': `${mock.url}/p/a b`,
      'with a TAB': `${mock.url}/p/a\tb`,
      'with NUL': `${mock.url}/p/a\u0000b`,
      '2049 bytes long': `${mock.url}/p/${'a'.repeat(2049 - mock.url.length - 3)}`,
    });
  });

  test('a 4096-byte api_key is accepted and reaches the upstream', async () => {
    const { gh, s } = await shared();
    const key = `sk-${'k'.repeat(4093)}`;
    const name = `long-${hex(3)}`;
    await createProvider(gh, s, { name, base_url: `${mock.url}/p/${name}`, api_key: key });
    const { res, rec } = await send(gh, s.apiKey, '/v1/chat/completions', {
      body: chatBody(), headers: { 'x-gatehouse-provider': name },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.headers.authorization, `Bearer ${key}`);
    expectOk(await gh.api('DELETE', `/api/v1/providers/${name}`, { token: s.token }));
  });

  test('updates with such values -> 400 naming the field; the old values stay in use', async () => {
    const { gh, s } = await shared();
    const name = `upd-${hex(3)}`;
    const key = `sk-old-${hex(8)}`;
    await createProvider(gh, s, { name, base_url: `${mock.url}/p/${name}`, api_key: key });
    const before = expectOk(await gh.api('GET', `/api/v1/providers/${name}`, { token: s.token }));
    const bad = [
      ['api_key', injected('sk-new')],
      ['api_key', 'k'.repeat(70_000)],
      ['auth_header', injected('authorization')],
      ['auth_scheme', injected('Bearer')],
      ['base_url', injected(`${mock.url}/p/${name}`)],
    ];
    for (const [field, value] of bad) {
      const res = await gh.api('PUT', `/api/v1/providers/${name}`, { token: s.token, body: { [field]: value } });
      await assertHealthy(gh, `an update of ${field}`);
      expectError(res, 400, 'invalid_request', field);
    }
    assert.deepEqual(expectOk(await gh.api('GET', `/api/v1/providers/${name}`, { token: s.token })), before);
    const { res, rec } = await send(gh, s.apiKey, '/v1/chat/completions', {
      body: chatBody(), headers: { 'x-gatehouse-provider': name },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.headers.authorization, `Bearer ${key}`);
    const names = rec.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    assert.ok(!names.includes('x-injected'), 'an injected header line reached the upstream');
  });

  test('no request the mock ever received carried an injected header line', () => {
    for (const r of mock.requests) {
      const names = r.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      assert.ok(!names.includes('x-injected'), `request ${r.id} (${r.url}) carried X-Injected`);
    }
  });
});

describe('strict JSON bodies (behaviour 5)', () => {
  const valid = JSON.stringify(chatBody());
  const deep = (n) => `{"model":"gpt-4o-mini","messages":[],"x":${'['.repeat(n)}${']'.repeat(n)}}`;
  const BAD = {
    'trailing garbage': Buffer.from(`${valid} x`),
    'a second value': Buffer.from(`${valid}{"a":1}`),
    'a NUL after the object': Buffer.concat([Buffer.from(valid), Buffer.from([0])]),
    'invalid UTF-8 in a string': Buffer.concat([
      Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a'),
      Buffer.from([0xff, 0xfe]), Buffer.from('"}]}'),
    ]),
    'a truncated object': Buffer.from(valid.slice(0, -5)),
    'nesting 10,000 deep': Buffer.from(deep(10_000)),
    'nesting 131 deep': Buffer.from(deep(130)),
  };

  for (const [what, body] of Object.entries(BAD)) {
    test(`/v1/*: ${what} -> 400 invalid_request, nothing forwarded`, async () => {
      const { gh, s } = await shared();
      for (const type of ['application/json', 'application/vnd.custom+json; charset=utf-8', null]) {
        const { res, rec } = await rawProxy(gh, s.apiKey, { body, contentType: type });
        await assertHealthy(gh, `a body with ${what} (${type})`);
        expectError(res, 400, 'invalid_request');
        assertUtf8(res.body);
        assert.equal(rec, undefined, `the body with ${what} (${type}) reached the upstream`);
      }
    });
  }

  test('/v1/*: nesting within --max-json-depth is relayed untouched', async () => {
    const { gh, s } = await shared();
    const raw = deep(100);
    const { res, rec } = await send(gh, s.apiKey, '/v1/chat/completions', { raw });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.text, raw);
  });

  test('/v1/*: other content types are relayed as they are', async () => {
    const { gh, s } = await shared();
    const body = Buffer.concat([
      Buffer.from('--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n{not json '),
      Buffer.from([0xff, 0x00, 0xfe]), Buffer.from('\r\n--b0undary--\r\n'),
    ]);
    const { res, rec } = await rawProxy(gh, s.apiKey, {
      path: '/v1/audio/transcriptions',
      body,
      contentType: 'multipart/form-data; boundary=b0undary',
      headers: [['X-Gatehouse-Provider', 'openai']],
    });
    assert.ok(rec, `the multipart body was not relayed: ${res.status} ${res.text}`);
    assert.deepEqual(rec.body, body);
    assert.equal(res.status, 404, 'the mock has no such route; its answer is relayed');
    await assertHealthy(gh);
  });

  test('management routes: {} followed by NUL -> 400', async () => {
    const { gh, s } = await shared();
    const nul = Buffer.from([0x7b, 0x7d, 0x00]);
    for (const [method, p] of [['PUT', '/api/v1/org'], ['POST', '/api/v1/keys'], ['POST', '/api/v1/login']]) {
      const res = await gh.api(method, p, { token: s.token, raw: nul });
      await assertHealthy(gh, `${method} ${p} with a NUL`);
      expectError(res, 400, 'invalid_request');
    }
  });

  test('management routes: a 1 MiB [[[[… body -> 400, not a crash', async () => {
    const { gh, s } = await shared();
    for (const size of [MiB, MiB - 1, 100_000]) {
      const res = await gh.api('POST', '/api/v1/teams', { token: s.token, raw: '['.repeat(size) });
      await assertHealthy(gh, `a ${size}-byte [[[[ body`);
      expectError(res, 400, 'invalid_request');
    }
    const obj = `{"name":"t-${hex(3)}","description":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const res = await gh.api('POST', '/api/v1/teams', { token: s.token, raw: obj });
    await assertHealthy(gh, 'a team with a deeply nested description');
    expectError(res, 400, 'invalid_request');
  });

  test('management routes: nesting 10,000 deep inside a known field -> 400', async () => {
    const { gh, s } = await shared();
    const raw = `{"settings":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    const res = await gh.api('PUT', '/api/v1/org', { token: s.token, raw });
    await assertHealthy(gh, 'deeply nested org settings');
    expectError(res, 400, 'invalid_request');
  });
});

describe('Accept-Encoding (behaviour 6)', () => {
  test('the mock compresses when asked (so the tests below would notice)', async () => {
    const res = await rawRequest(mock.url, {
      method: 'POST',
      path: '/p/selftest/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip, deflate', 'x-mock-gzip': '1' },
      write: (req) => req.end(JSON.stringify(chatBody())),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
  });

  test('whole answers: identity upstream, usage counted, plain answer', async () => {
    const { gh } = await shared();
    const { s } = await orgOn(gh);
    const tag = hex(8);
    const res = await rawRequest(gh.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: {
        'content-type': 'application/json', 'x-gatehouse-key': s.apiKey, 'accept-encoding': 'gzip, deflate',
        'x-mock-gzip': '1', 'x-mock-usage': '31,41', 'x-test-tag': tag,
      },
      write: (req) => req.end(JSON.stringify(chatBody())),
    });
    const rec = recordOf(tag);
    assert.equal(rec.headers['accept-encoding'], 'identity', 'the client Accept-Encoding was forwarded');
    assert.equal(res.status, 200);
    assert.ok(!res.headers['content-encoding'] || res.headers['content-encoding'] === 'identity',
      `the client got content-encoding ${res.headers['content-encoding']}`);
    assert.ok(res.json, `the client cannot read the answer: ${JSON.stringify(res.text.slice(0, 80))}`);
    assert.equal(res.json.choices[0].message.content, REPLY_TEXT);
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.tokens_in, 31);
    assert.equal(entry.tokens_out, 41);
    assert.equal(entry.usage_estimated, false);
  });

  test('streams: identity upstream, usage counted, plain events', async () => {
    const { gh } = await shared();
    const { s } = await orgOn(gh);
    const tag = hex(8);
    const res = await rawRequest(gh.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: {
        'content-type': 'application/json', 'x-gatehouse-key': s.apiKey, 'accept-encoding': 'gzip, deflate, br',
        'x-mock-gzip': '1', 'x-mock-usage': '32,42', 'x-mock-chunks': '4', 'x-test-tag': tag,
      },
      write: (req) => req.end(JSON.stringify(chatBody('gpt-4o-mini', { stream: true }))),
    });
    const rec = recordOf(tag);
    assert.equal(rec.headers['accept-encoding'], 'identity', 'the client Accept-Encoding was forwarded');
    assert.equal(res.status, 200);
    assert.ok(!res.headers['content-encoding'] || res.headers['content-encoding'] === 'identity');
    const chunks = sseData(res.text).filter((d) => d !== '[DONE]');
    assert.equal(chunks.length, 4, `the client got ${JSON.stringify(res.text.slice(0, 120))}`);
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.stream, true);
    assert.equal(entry.tokens_in, 32);
    assert.equal(entry.tokens_out, 42);
    assert.equal(entry.usage_estimated, false);
  });
});

describe('upstream answers Gatehouse cannot read (behaviour 7)', () => {
  test('a chat answer nested 10,000 deep is relayed unchanged; usage estimated', async () => {
    const { gh } = await shared();
    const { s } = await orgOn(gh);
    const { res, rec } = await send(gh, s.apiKey, '/v1/chat/completions', {
      body: chatBody(), headers: { 'x-mock-fault': 'deep-json' },
    });
    await assertHealthy(gh, 'a deeply nested answer');
    assert.equal(res.status, 200, res.text.slice(0, 200));
    assert.equal(res.text, mock.sent(rec).toString('utf8'));
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.status, 200);
    assert.equal(entry.usage_estimated, true);
  });

  test('/v1/models: a provider answering too deep or broken JSON adds no models', async () => {
    const { gh } = await shared();
    const org = await orgOn(gh, ['okm', 'deepm', 'cutm']);
    const res = await gh.api('GET', '/v1/models', { key: org.s.apiKey });
    await assertHealthy(gh, 'a deeply nested /v1/models answer');
    const json = expectOk(res);
    assert.deepEqual(json.data.map((m) => m.id).sort(), DEFAULT_MODELS.map((m) => m.id).sort());
    assert.ok(mock.lastRequest((r) => r.label === 'deepm' && r.path === '/v1/models'), 'deepm was not asked');
  });
});

describe('an endless SSE line (behaviour 7, --max-sse-event-bytes)', () => {
  let gh;
  let s;
  before(async () => {
    gh = await startGatehouse({ args: [...PROXY_ARGS, '--max-sse-event-bytes', '4096'] });
    ({ s } = await orgOn(gh, ['openai']));
  });
  after(async () => {
    if (gh) retired.push(gh);
  });

  test('the events before it are relayed, then an error event; the stream is settled', {
    timeout: 30_000,
  }, async () => {
    const tag = hex(8);
    const res = await streamRequest(gh.url, '/v1/chat/completions', {
      key: s.apiKey, body: chatBody('gpt-4o-mini', { stream: true }),
      headers: { 'x-mock-fault': 'endless-sse-line', 'x-test-tag': tag },
    });
    const rec = recordOf(tag);
    assert.equal(res.status, 200);
    const closed = await mock.waitForClose((c) => c.request === rec, 5000);
    assert.equal(closed.finished, false);
    assert.ok(rec.sentBytes < 64 * MiB, `the upstream sent ${rec.sentBytes} bytes before it was cut`);
    const events = res.events.map((e) => e.text);
    assert.ok(events.length >= 2, `events: ${JSON.stringify(res.text.slice(0, 300))}`);
    assert.ok(events[0].startsWith('data: {'), 'the first event was relayed');
    const last = events[events.length - 1];
    assert.match(last, /^event: error\n/);
    const data = JSON.parse(/\ndata: (.*)\n/.exec(last)[1]);
    assert.equal(data.error_code, 'upstream_error');
    assert.equal(typeof data.message, 'string');
    assert.equal(data.error.code, 'upstream_error');
    assert.ok(!res.text.includes('xxxxxxxx'), 'part of the endless line reached the client');
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.equal(entry.error_code, 'upstream_error');
    assert.equal(entry.stream, true);
    await assertHealthy(gh, 'an endless SSE line');
  });
});

describe('X-Forwarded-For over several lines (behaviour 8)', () => {
  async function teamIp(gh, s, xff) {
    const name = `t-${hex(4)}`;
    const res = await rawRequest(gh.url, {
      method: 'POST',
      path: '/api/v1/teams',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}`, 'x-forwarded-for': xff },
      write: (req) => req.end(JSON.stringify({ name })),
    });
    assert.equal(res.status, 201, res.text);
    const id = res.json.id ?? res.json.team?.id;
    return poll(async () => {
      const { entries } = expectOk(await gh.api('GET', '/api/v1/audit?limit=100', { token: s.token }));
      return entries.find((e) => e.action === 'team.create' && e.target_id === id)?.ip;
    }, { what: 'the audit entry of the new team' });
  }

  test('all lines form one list; the client is the rightmost untrusted address', async () => {
    const { gh, s } = await shared();
    assert.equal(await teamIp(gh, s, ['203.0.113.7', '198.51.100.9, 127.0.0.1']), '198.51.100.9');
    assert.equal(await teamIp(gh, s, ['198.51.100.9, 127.0.0.1', '203.0.113.8']), '203.0.113.8');
    assert.equal(await teamIp(gh, s, ['203.0.113.9']), '203.0.113.9');
  });
});

describe('proxied paths (behaviour 9)', () => {
  const BAD = [
    '/v1/../admin', '/v1/chat/../completions', '/v1/./chat/completions', '/v1/chat/completions/..',
    '/v1/chat/completions/.', '/v1/%2e%2e/x', '/v1/%2E%2E/x', '/v1/.%2e/x', '/v1/%2e/chat/completions',
    '/v1/chat%2Fcompletions', '/v1/chat%2fcompletions', '/v1/chat%5ccompletions', '/v1/chat%5Ccompletions',
    '/v1/files/a%2E', '/v1/..%2f..%2fadmin',
  ];

  for (const p of BAD) {
    test(`${p} -> 400 invalid_request, nothing forwarded`, async () => {
      const { gh, s } = await shared();
      const { res, rec } = await rawProxy(gh, s.apiKey, { path: p, headers: [['X-Gatehouse-Provider', 'openai']] });
      await assertHealthy(gh, p);
      expectError(res, 400, 'invalid_request');
      assert.equal(rec, undefined, `${p} reached the upstream as ${rec?.url}`);
    });
  }

  test('dots inside a segment name are fine', async () => {
    const { gh, s } = await shared();
    const { res, rec } = await rawProxy(gh, s.apiKey, {
      method: 'GET', path: '/v1/files/file..abc.jsonl', body: null, headers: [['X-Gatehouse-Provider', 'openai']],
    });
    assert.ok(rec, `not relayed: ${res.status} ${res.text}`);
    assert.equal(rec.url, '/p/openai/v1/files/file..abc.jsonl');
  });
});

describe('HEAD (behaviour 10)', () => {
  test('is answered as soon as the upstream head arrives', async () => {
    const { gh, s } = await shared();
    const tag = hex(8);
    const t0 = Date.now();
    const res = await rawRequest(gh.url, {
      method: 'HEAD',
      path: '/v1/files/file-abc',
      headers: { 'x-gatehouse-key': s.apiKey, 'x-gatehouse-provider': 'openai', 'x-test-tag': tag },
    });
    const ms = Date.now() - t0;
    assert.equal(res.status, 200);
    assert.ok(ms < 1000, `HEAD answered after ${ms} ms (upstream timeout 2 s)`);
    assert.equal(recordOf(tag)?.method, 'HEAD');
    const { res: next } = await send(gh, s.apiKey, '/v1/chat/completions', { body: chatBody() });
    assert.equal(next.status, 200, 'the next request on the provider works');
  });
});

describe('the key is checked before the body (behaviour 11)', () => {
  for (const [what, key] of [['an unknown key', `sk-gate-${'0'.repeat(64)}`], ['no key', null]]) {
    test(`${what} with Content-Length 8,000,000 and no body sent -> 401 at once`, async () => {
      const { gh } = await shared();
      const socket = await connect(gh.url);
      try {
        const headers = [['Content-Type', 'application/json'], ['Content-Length', '8000000']];
        if (key) headers.push(['X-Gatehouse-Key', key]);
        socket.write(buildRequest({ method: 'POST', path: '/v1/chat/completions', headers, close: false }));
        const res = await readResponse(socket, { timeoutMs: 3000 });
        expectError(res, 401, 'unauthorized');
        assert.ok(res.ms < 2000, `the 401 took ${res.ms} ms`);
        await waitClosed(socket, 3000);
      } finally {
        socket.destroy();
      }
      await assertHealthy(gh);
    });
  }
});

describe('--max-connections', () => {
  let gh;
  before(async () => {
    gh = await startGatehouse({ args: ['--max-connections', '4'] });
  });
  after(async () => {
    if (gh) retired.push(gh);
  });

  test('the connection over the limit gets 503 overloaded with Retry-After; a freed slot is reused', async () => {
    const idle = [];
    try {
      for (let i = 0; i < 4; i++) {
        const c = await connect(gh.url);
        idle.push(c);
        // Used once, so that the node has accepted it: each loop accepts
        // on its own, and the kernel spreads connections over them.
        c.write(buildRequest({ path: '/healthz', close: false }));
        assert.equal((await readResponse(c)).status, 200);
      }
      const over = await connect(gh.url);
      over.write(buildRequest({ path: '/healthz' }));
      const res = await readResponse(over, { timeoutMs: 3000 });
      over.destroy();
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json?.error_code, 'overloaded', res.text);
      assert.equal(res.headers['retry-after'], '1');
      // An idle connection still works.
      idle[0].write(buildRequest({ path: '/healthz', close: false }));
      assert.equal((await readResponse(idle[0])).status, 200);
      idle.pop().destroy();
      await poll(async () => (await rawExchange(gh.url, buildRequest({ path: '/healthz' }))).status === 200,
        { what: 'a new connection once one was closed' });
      // The whole error shape, request id included.
      expectError(res, 503, 'overloaded');
    } finally {
      for (const s of idle) s.destroy();
    }
  });
});

describe('limits as settings', () => {
  let gh;
  let s;
  before(async () => {
    gh = await startGatehouse({
      args: [
        ...PROXY_ARGS, '--max-header-bytes', '2048', '--max-body-bytes', '4096', '--max-manage-body-bytes', '2048',
        '--max-json-depth', '8', '--max-usage-parse-bytes', '1024',
      ],
    });
    ({ s } = await orgOn(gh, ['openai']));
  });
  after(async () => {
    if (gh) retired.push(gh);
  });

  test('--max-header-bytes', async () => {
    const res = await gh.raw(buildRequest({ path: '/healthz', headers: [['X-Big', 'a'.repeat(3000)]] }));
    assert.equal(res.status, 431);
    assert.equal(res.json?.error_code, 'invalid_request');
    assert.equal((await gh.raw(buildRequest({ path: '/healthz', headers: [['X-Big', 'a'.repeat(1500)]] }))).status,
      200);
  });

  test('--max-body-bytes and --max-manage-body-bytes', async () => {
    const pad = (n) => JSON.stringify(chatBody('gpt-4o-mini', { pad: 'x'.repeat(n) }));
    expectError((await send(gh, s.apiKey, '/v1/chat/completions', { raw: pad(5000) })).res, 413, 'payload_too_large');
    assert.equal((await send(gh, s.apiKey, '/v1/chat/completions', { raw: pad(3000) })).res.status, 200);
    const team = (n) => ({ name: `t-${hex(3)}`, description: 'd'.repeat(n) });
    expectError(await gh.api('POST', '/api/v1/teams', { token: s.token, body: team(3000) }), 413, 'payload_too_large');
    expectOk(await gh.api('POST', '/api/v1/teams', { token: s.token, body: team(500) }), 201);
  });

  test('--max-json-depth', async () => {
    const nested = (n) => `{"model":"gpt-4o-mini","messages":[],"x":${'['.repeat(n)}${']'.repeat(n)}}`;
    const deep = await send(gh, s.apiKey, '/v1/chat/completions', { raw: nested(12) });
    expectError(deep.res, 400, 'invalid_request');
    assert.equal(deep.rec, undefined);
    const flat = await send(gh, s.apiKey, '/v1/chat/completions', { raw: nested(4) });
    assert.equal(flat.res.status, 200, flat.res.text);
  });

  test('--max-usage-parse-bytes', async () => {
    const small = await send(gh, s.apiKey, '/v1/chat/completions', {
      body: chatBody(), headers: { 'x-mock-usage': '3,4' },
    });
    const big = await send(gh, s.apiKey, '/v1/chat/completions', {
      body: chatBody(), headers: { 'x-mock-fault': 'huge-json', 'x-mock-size': '2000', 'x-mock-usage': '3,4' },
    });
    assert.equal(big.res.text, mock.sent(big.rec).toString('utf8'));
    const a = await waitForLog(gh, s, small.res.headers['x-gatehouse-request-id']);
    assert.deepEqual([a.tokens_in, a.tokens_out, a.usage_estimated], [3, 4, false]);
    const b = await waitForLog(gh, s, big.res.headers['x-gatehouse-request-id']);
    assert.equal(b.usage_estimated, true);
  });
});

describe('--max-queued-requests', () => {
  let gh;
  before(async () => {
    gh = await startGatehouse({ args: ['--threads', '1', '--max-queued-requests', '1'], bcryptCost: 12 });
  });
  after(async () => {
    if (gh) retired.push(gh);
  });

  test('management requests beyond the queue get 503 overloaded with Retry-After', async () => {
    const login = () => gh.api('POST', '/api/v1/login', {
      body: { email: `nobody-${hex(4)}@example.com`, password: 'pw-0123456789' },
    });
    const answers = await Promise.all(Array.from({ length: 24 }, login));
    const over = answers.filter((r) => r.status === 503);
    const done = answers.filter((r) => r.status === 401);
    assert.equal(over.length + done.length, answers.length, answers.map((r) => r.status).join(' '));
    assert.ok(over.length > 0, 'no request was refused');
    assert.ok(done.length >= 1, 'no request was served');
    for (const r of over) {
      expectError(r, 503, 'overloaded');
      assert.equal(r.headers['retry-after'], '1');
    }
    await assertHealthy(gh);
    expectError(await login(), 401, 'invalid_credentials');
  });
});

describe('--drain-grace', () => {
  test('SIGTERM with a stream longer than the grace: exit within grace + 2 s; the stream is logged', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-drain-'));
    const database = await freshDatabase();
    const args = [...PROXY_ARGS, '--drain-grace', '1'];
    let again = null;
    try {
      const gh = await startGatehouse({ args, dataDir, database });
      const { s } = await orgOn(gh, ['openai']);
      const tag = hex(8);
      const streaming = streamRequest(gh.url, '/v1/chat/completions', {
        key: s.apiKey, body: chatBody('gpt-4o-mini', { stream: true }),
        headers: { 'x-test-tag': tag, 'x-mock-chunks': '100', 'x-mock-chunk-delay-ms': '100' },
      });
      await poll(() => recordOf(tag)?.writes.length >= 2, { what: 'the stream under way' });
      const { code, ms } = await gh.stop();
      assert.equal(code, 0);
      assert.ok(ms < 3000 + 500, `the node exited ${ms} ms after SIGTERM (grace 1 s)`);
      const res = await streaming;
      assert.ok(!res.text.includes('[DONE]'), 'the stream was not cut');
      const closed = await mock.waitForClose((c) => c.request === recordOf(tag), 3000);
      assert.equal(closed.finished, false);
      again = await startGatehouse({ args, dataDir, database });
      const entry = await waitForLog(again, s, res.headers['x-gatehouse-request-id']);
      assert.equal(entry.stream, true);
      assert.ok(entry.tokens_out > 0, `tokens_out ${entry.tokens_out}`);
    } finally {
      await again?.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
      await dropDatabase(database);
    }
  });
});

describe('text that reaches the request log', () => {
  test('a NUL in the model name: logged cleaned, and the writer keeps writing', async () => {
    const { gh } = await shared();
    const { s } = await orgOn(gh);
    const { res, rec } = await send(gh, s.apiKey, '/v1/chat/completions', {
      raw: JSON.stringify(chatBody('gpt-4o-mini\u0000x\u001b[31m')),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(rec.json.model, 'gpt-4o-mini\u0000x\u001b[31m', 'the body is relayed untouched');
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    assert.match(entry.model, /^gpt-4o-mini/);
    assert.ok(!entry.model.includes('\u0000'), `logged model ${JSON.stringify(entry.model)}`);
    const { res: next } = await send(gh, s.apiKey, '/v1/chat/completions', { body: chatBody() });
    await waitForLog(gh, s, next.headers['x-gatehouse-request-id']);
  });

  test('escaped NUL and control characters in X-Gatehouse-Metadata: logged', async () => {
    const { gh } = await shared();
    const { s } = await orgOn(gh);
    const { res } = await send(gh, s.apiKey, '/v1/chat/completions', {
      body: chatBody(), headers: { 'x-gatehouse-metadata': '{"note":"a\\u0000b\\u001bc","n":1}' },
    });
    assert.equal(res.status, 200, res.text);
    const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
    // The stored JSON text holds the escape, not a NUL byte.
    assert.equal(entry.metadata?.n, 1, `logged metadata ${JSON.stringify(entry.metadata)}`);
    const { res: next } = await send(gh, s.apiKey, '/v1/chat/completions', { body: chatBody() });
    await waitForLog(gh, s, next.headers['x-gatehouse-request-id']);
  });

  test('raw non-UTF-8 bytes in a proxied path: refused, or logged cleaned', async () => {
    const { gh } = await shared();
    const { s } = await orgOn(gh);
    const target = Buffer.concat([Buffer.from('/v1/files/f-'), Buffer.from([0xff, 0xfe, 0x01])]);
    const tag = hex(8);
    const res = await gh.raw(Buffer.concat([
      Buffer.from('GET '), target,
      Buffer.from(` HTTP/1.1\r\nHost: x\r\nX-Gatehouse-Key: ${s.apiKey}\r\nX-Gatehouse-Provider: openai\r\n`
        + `X-Test-Tag: ${tag}\r\nConnection: close\r\n\r\n`),
    ]));
    await assertHealthy(gh, 'raw bytes in a proxied path');
    assertUtf8(res.body);
    if (res.status === 400) {
      expectError(res, 400, 'invalid_request');
    } else {
      const entry = await waitForLog(gh, s, res.headers['x-gatehouse-request-id']);
      assert.ok(!/[\u0000-\u001f]/.test(entry.path), `logged path ${JSON.stringify(entry.path)}`);
    }
    const logs = await getLogs(gh, s, { limit: 500 });
    expectOk(logs);
    const { res: next } = await send(gh, s.apiKey, '/v1/chat/completions', { body: chatBody() });
    await waitForLog(gh, s, next.headers['x-gatehouse-request-id']);
  });
});
