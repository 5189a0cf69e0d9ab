// HTTP-level behaviour shared by every route: health, request ids, error
// shape, unknown routes, body and header limits, keep-alive, keys in query
// strings, robustness against hostile bodies, start-up line and SIGTERM.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import {
  expectError, expectOk, hex, rawRequest, sha256Hex, signup, signupBody, sleep, startGatehouse,
} from './harness.mjs';

const MiB = 1024 * 1024;
let gh;
let stoppedByTest = false;
const querySecrets = [];

before(async () => {
  gh = await startGatehouse();
});

after(async () => {
  if (!gh) return;
  const { code } = await gh.dispose();
  if (!stoppedByTest) assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

async function assertAlive() {
  const res = await gh.api('GET', '/healthz');
  assert.equal(res.status, 200, 'the server stopped answering');
}

describe('start-up', () => {
  test('prints exactly one listening line on stdout', () => {
    assert.match(gh.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(gh.url).port);
    assert.ok(port > 0 && port < 65536, 'a real port, not 0');
    const lines = gh.stdout().split('\n').filter((l) => l.length > 0);
    assert.deepEqual(lines, [`gatehouse listening on ${gh.url}`]);
  });
});

describe('health', () => {
  test('/healthz', async () => {
    const res = await gh.api('GET', '/healthz');
    assert.deepEqual(expectOk(res), { status: 'ok' });
    assert.match(res.headers['content-type'], /^application\/json/);
  });

  test('/readyz', async () => {
    const res = await gh.api('GET', '/readyz');
    assert.deepEqual(expectOk(res), { status: 'ready' });
    assert.match(res.headers['content-type'], /^application\/json/);
  });

  test('health needs no credentials and ignores bad ones', async () => {
    expectOk(await gh.api('GET', '/healthz', { token: 'garbage' }));
    expectOk(await gh.api('GET', '/readyz', { key: 'sk-gate-nope' }));
  });
});

describe('request ids and error shape', () => {
  test('every answer carries a distinct X-Gatehouse-Request-Id', async () => {
    const answers = await Promise.all([
      gh.api('GET', '/healthz'),
      gh.api('GET', '/readyz'),
      gh.api('GET', '/api/v1/nope'),
      gh.api('GET', '/api/v1/auth/me'),
      gh.api('POST', '/api/v1/login', { raw: '{' }),
      ...Array.from({ length: 15 }, () => gh.api('GET', '/healthz')),
    ]);
    const ids = answers.map((r) => r.headers['x-gatehouse-request-id']);
    for (const id of ids) assert.ok(typeof id === 'string' && id.length >= 8, `bad request id ${id}`);
    assert.equal(new Set(ids).size, ids.length, 'request ids repeat');
  });

  test('errors are JSON', async () => {
    const res = await gh.api('GET', '/api/v1/auth/me');
    expectError(res, 401, 'unauthorized');
    assert.match(res.headers['content-type'], /^application\/json/);
  });
});

describe('unknown routes', () => {
  for (const [method, p] of [
    ['GET', '/api/v1/does-not-exist'],
    ['POST', '/api/v1/does-not-exist'],
    ['GET', '/api/nope'],
    ['GET', '/api/v1/keys/a/b/c'],
    ['GET', '/api/v1/org/extra'],
    ['DELETE', '/api/v1/org'],
    ['GET', '/api/v1/signup'],
    ['PUT', '/api/v1/keys'],
    ['PATCH', '/api/v1/keys'],
    ['GET', '/api/v1/admin/nope'],
  ]) {
    test(`${method} ${p} -> 404 not_found`, async () => {
      const s = await signup(gh);
      expectError(await gh.api(method, p, { token: s.token }), 404, 'not_found');
    });
  }

  test('404 also without credentials', async () => {
    expectError(await gh.api('GET', '/api/v1/does-not-exist'), 404, 'not_found');
  });
});

describe('management bodies', () => {
  test('non-object JSON -> 400', async () => {
    for (const raw of ['[]', '"text"', '42', 'null', 'true', '']) {
      expectError(await gh.api('POST', '/api/v1/login', { raw }), 400, 'invalid_request');
    }
  });

  test('trailing garbage and invalid UTF-8 -> 400', async () => {
    const body = signupBody();
    expectError(await gh.api('POST', '/api/v1/signup', { raw: `${JSON.stringify(body)} x` }), 400, 'invalid_request');
    const [pre, post] = JSON.stringify({ ...body, display_name: '@@' }).split('@@');
    const bad = Buffer.concat([Buffer.from(pre), Buffer.from([0x41, 0xff, 0xfe, 0x41]), Buffer.from(post)]);
    expectError(await gh.api('POST', '/api/v1/signup', { raw: bad }), 400, 'invalid_request');
    // nothing was created
    const again = await gh.api('POST', '/api/v1/signup', { body });
    expectOk(again, 201);
  });

  test('deeply nested JSON is refused, not fatal', async () => {
    const depth = 100_000;
    const raw = `{"email": ${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expectError(await gh.api('POST', '/api/v1/login', { raw }), 400, 'invalid_request');
    const unclosed = '['.repeat(depth);
    expectError(await gh.api('POST', '/api/v1/login', { raw: unclosed }), 400, 'invalid_request');
    await assertAlive();
  });

  test('a body of exactly 1 MiB is read (then refused for its unknown field)', async () => {
    const base = signupBody();
    const skeleton = JSON.stringify({ ...base, padding: '' });
    const raw = JSON.stringify({ ...base, padding: 'p'.repeat(MiB - Buffer.byteLength(skeleton)) });
    assert.equal(Buffer.byteLength(raw), MiB);
    expectError(await gh.api('POST', '/api/v1/signup', { raw }), 400, 'invalid_request', 'padding');
  });

  test('a body over 1 MiB (Content-Length) -> 413 payload_too_large', async () => {
    const body = Buffer.alloc(MiB + 1, 0x20);
    body[0] = 0x7b; // '{' ... spaces ... '}'
    body[body.length - 1] = 0x7d;
    const res = await rawRequest(gh.url, {
      method: 'POST',
      path: '/api/v1/signup',
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      write(req, answered) {
        req.flushHeaders();
        // The limit is known from the header: give the server a moment to
        // answer before the body is sent at all.
        setTimeout(() => {
          if (!answered()) req.end(body);
        }, 500);
      },
    });
    expectError(res, 413, 'payload_too_large');
    await assertAlive();
  });

  test('a chunked body over 1 MiB -> 413 payload_too_large', async () => {
    const s = await signup(gh);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const res = await rawRequest(gh.url, {
      method: 'PUT',
      path: '/api/v1/org',
      headers: {
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
        authorization: `Bearer ${s.token}`,
      },
      write(req, answered) {
        let sent = 0;
        req.write('{"name": "x"');
        const pump = () => {
          if (answered()) return;
          if (sent > 2 * MiB) {
            req.end('}');
            return;
          }
          sent += chunk.length;
          req.write(chunk, () => setImmediate(pump));
        };
        pump();
      },
    });
    expectError(res, 413, 'payload_too_large');
    await assertAlive();
    assert.equal(expectOk(await gh.api('GET', '/api/v1/org', { token: s.token })).name, s.body.org_name);
  });
});

describe('headers', () => {
  test('headers over 16 KiB -> 4xx, and the server lives on', async () => {
    for (const headers of [
      { 'x-big': 'a'.repeat(20 * 1024) },
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-filler-${i}`, 'b'.repeat(500)])),
    ]) {
      const res = await rawRequest(gh.url, { path: '/healthz', headers });
      assert.ok(res.status >= 400 && res.status < 500, `expected 4xx, got ${res.status}`);
      assert.ok([400, 431].includes(res.status), `expected 400 or 431, got ${res.status}`);
      assert.ok(res.headers['x-gatehouse-request-id'], 'X-Gatehouse-Request-Id missing');
      await assertAlive();
    }
  });

  test('moderate headers are fine', async () => {
    const res = await rawRequest(gh.url, { path: '/healthz', headers: { 'x-medium': 'c'.repeat(4 * 1024) } });
    assert.equal(res.status, 200);
  });
});

describe('keep-alive', () => {
  test('several requests share one connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const s = await signup(gh);
    try {
      const seen = [];
      const sockets = new Set();
      agent.on('free', (socket) => sockets.add(socket));
      const steps = [
        ['/healthz', {}, 200],
        ['/readyz', {}, 200],
        ['/api/v1/does-not-exist', {}, 404],
        ['/api/v1/auth/me', {}, 401],
        ['/api/v1/auth/me', { authorization: `Bearer ${s.token}` }, 200],
        ['/healthz', {}, 200],
      ];
      for (const [p, headers, status] of steps) {
        const res = await rawRequest(gh.url, { path: p, headers, agent });
        assert.equal(res.status, status, `${p}: ${res.text}`);
        assert.ok(res.headers['x-gatehouse-request-id']);
        assert.notEqual(res.headers.connection, 'close', `${p} closed the connection`);
        seen.push(res.reusedSocket);
        await sleep(5);
      }
      assert.equal(seen[0], false);
      assert.deepEqual(seen.slice(1), Array(steps.length - 1).fill(true), 'the socket was not reused');
      assert.equal(sockets.size, 1);
    } finally {
      agent.destroy();
    }
  });

  test('a JSON body on a kept-alive connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const s = await signup(gh);
      const put = JSON.stringify({ name: 'Kept Alive' });
      const a = await rawRequest(gh.url, {
        method: 'PUT',
        path: '/api/v1/org',
        agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}`, 'content-length': Buffer.byteLength(put) },
        write: (req) => req.end(put),
      });
      assert.equal(a.status, 200, a.text);
      const b = await rawRequest(gh.url, { path: '/api/v1/org', agent, headers: { authorization: `Bearer ${s.token}` } });
      assert.equal(b.status, 200);
      assert.equal(b.reusedSocket, true);
      assert.equal(b.json.name, 'Kept Alive');
    } finally {
      agent.destroy();
    }
  });
});

describe('keys and tokens in the query string', () => {
  function secret(kind) {
    const value = kind === 'key' ? `sk-gate-${hex(32)}` : `qs${kind}${hex(12)}`;
    querySecrets.push(value);
    return value;
  }

  for (const param of ['key', 'api_key', 'token']) {
    test(`?${param}= is refused on every route`, async () => {
      const s = await signup(gh);
      const cases = [
        ['GET', '/healthz', {}],
        ['GET', '/readyz', {}],
        ['GET', '/api/v1/auth/me', { token: s.token }],
        ['GET', '/api/v1/keys', { token: s.token }],
        ['GET', '/api/v1/org', { token: s.token }],
        ['GET', '/api/v1/admin/orgs', { token: gh.operatorToken }],
        ['GET', '/api/v1/does-not-exist', {}],
        ['POST', '/api/v1/login', { body: { email: s.email, password: s.password } }],
      ];
      for (const [method, p, o] of cases) {
        const v = secret(param === 'key' ? 'key' : param);
        expectError(await gh.api(method, `${p}?${param}=${v}`, o), 401, 'key_in_query');
        const v2 = secret(param === 'key' ? 'key' : param);
        expectError(await gh.api(method, `${p}?a=1&${param}=${v2}&b=2`, o), 401, 'key_in_query');
      }
    });
  }

  test('a refused request has no effect', async () => {
    const body = signupBody();
    const v = secret('key');
    expectError(await gh.api('POST', `/api/v1/signup?key=${v}`, { body }), 401, 'key_in_query');
    const s = await signup(gh, body);
    assert.equal(s.slug, body.org_slug);

    const v2 = secret('token');
    expectError(await gh.api('POST', `/api/v1/keys?token=${v2}`, { token: s.token, body: { name: 'never' } }),
      401, 'key_in_query');
    const v3 = secret('api_key');
    expectError(await gh.api('PUT', `/api/v1/org?api_key=${v3}`, { token: s.token, body: { name: 'Never' } }),
      401, 'key_in_query');
    const { keys } = expectOk(await gh.api('GET', '/api/v1/keys', { token: s.token }));
    assert.equal(keys.length, 1);
    assert.equal(expectOk(await gh.api('GET', '/api/v1/org', { token: s.token })).name, body.org_name);
  });

  test('a real API key or session token in the query is refused too', async () => {
    const s = await signup(gh);
    querySecrets.push(s.apiKey, s.token);
    expectError(await gh.api('GET', `/api/v1/keys?key=${s.apiKey}`, { token: s.token }), 401, 'key_in_query');
    expectError(await gh.api('GET', `/api/v1/auth/me?token=${s.token}`), 401, 'key_in_query');
    expectError(await gh.api('GET', `/healthz?api_key=${encodeURIComponent(s.apiKey)}`), 401, 'key_in_query');
  });

  test('encoded values are refused as well', async () => {
    const v = `sk-gate-${hex(8)}+/=${hex(8)}`;
    querySecrets.push(v);
    expectError(await gh.api('GET', `/healthz?key=${encodeURIComponent(v)}`), 401, 'key_in_query');
  });

  test('other parameters are not mistaken for keys', async () => {
    expectOk(await gh.api('GET', '/healthz?monkey=1&keys=2&tokens=3&api_keys=4'));
    const s = await signup(gh);
    expectOk(await gh.api('GET', '/api/v1/keys?keyword=x', { token: s.token }));
  });
});

describe('load', () => {
  test('many concurrent requests are all answered', async () => {
    const s = await signup(gh);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) =>
      (i % 3 === 0
        ? gh.api('GET', '/healthz')
        : i % 3 === 1
          ? gh.api('GET', '/api/v1/auth/me', { token: s.token })
          : gh.api('GET', '/api/v1/keys', { token: s.token }))));
    for (const r of results) assert.equal(r.status, 200, r.text);
  });
});

describe('shutdown', () => {
  test('SIGTERM: exit 0 within a few seconds; query secrets never logged', async () => {
    await assertAlive();
    stoppedByTest = true;
    const { code, signal, ms } = await gh.stop();
    assert.equal(signal, null, `killed by ${signal}`);
    assert.equal(code, 0);
    assert.ok(ms < 5000, `took ${ms} ms to stop`);

    const logs = gh.stderr() + gh.stdout();
    assert.ok(querySecrets.length > 20);
    for (const v of querySecrets) {
      assert.ok(!logs.includes(v), `a query-string secret reached the logs: ${v.slice(0, 12)}…`);
      assert.ok(!logs.includes(encodeURIComponent(v)), 'an encoded query-string secret reached the logs');
      if (v.startsWith('sk-gate-')) assert.ok(!logs.includes(sha256Hex(v)), 'a full key hash reached the logs');
    }
    await assert.rejects(fetch(`${gh.url}/healthz`), 'the port is closed after exit');
  });
});
