// The web console as files: served at / and /ui/…, with the security headers
// a browser needs, every module it imports present, and nothing outside the
// console directory reachable. The console's behaviour in a browser is
// tested in tests/console.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startGatehouse, signup, expectError, expectOk, rawRequest } from './harness.mjs';

let server;
before(async () => { server = await startGatehouse(); });
after(async () => { await server?.dispose(); });

function assertSecurityHeaders(res, what) {
  const csp = res.headers['content-security-policy'];
  assert.ok(csp, `${what}: Content-Security-Policy`);
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['script-src'], ["'self'"], `${what}: scripts from the console only`);
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), `${what}: ${csp}`);
  assert.deepEqual(directives['frame-ancestors'], ["'none'"], `${what}: never framed`);
  assert.deepEqual(directives['default-src'], ["'none'"]);
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
}

test('the login page and every console path answer the same page, with the security headers', async () => {
  const root = await server.api('GET', '/');
  assert.equal(root.status, 200);
  assert.match(root.headers['content-type'], /^text\/html/);
  assertSecurityHeaders(root, '/');
  assert.match(root.text, /<script type="module" src="\/ui\/static\/js\/main\.js"><\/script>/);
  // No inline script anywhere: every <script> has a src.
  for (const tag of root.text.match(/<script[^>]*>/g)) assert.match(tag, /\ssrc="/, tag);
  assert.ok(!/\sstyle="/.test(root.text), 'no inline styles');
  for (const p of ['/ui', '/ui/', '/ui/login', '/ui/users', '/ui/keys?x=1', '/ui/no/such/page']) {
    const res = await server.api('GET', p);
    assert.equal(res.status, 200, p);
    assert.equal(res.text, root.text, p);
    assertSecurityHeaders(res, p);
  }
  const head = await server.api('HEAD', '/ui/overview');
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
});

test('every file the page and its modules load is served with its type and revalidated by ETag', async () => {
  const root = await server.api('GET', '/');
  const queue = [...root.text.matchAll(/(?:src|href)="(\/ui\/static\/[^"]+)"/g)].map((m) => m[1]);
  const seen = new Set();
  while (queue.length) {
    const p = queue.shift();
    if (seen.has(p)) continue;
    seen.add(p);
    const res = await server.api('GET', p);
    assert.equal(res.status, 200, p);
    assertSecurityHeaders(res, p);
    const type = { js: /^text\/javascript/, css: /^text\/css/, svg: /^image\/svg\+xml/ }[p.split('.').pop()];
    assert.match(res.headers['content-type'], type, p);
    assert.match(res.headers.etag, /^"[0-9a-f]{20}"$/, p);
    if (p.endsWith('.js')) {
      // Follow the module's static imports.
      for (const m of res.text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
        queue.push(new URL(m[1], `http://x${p}`).pathname);
      }
      // dom.js names these only to refuse them.
      if (!p.endsWith('/dom.js')) {
        assert.ok(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/.test(res.text),
          `${p} builds no HTML from strings`);
      }
    }
    const again = await server.api('GET', p, { headers: { 'if-none-match': res.headers.etag } });
    assert.equal(again.status, 304, p);
    assert.equal(again.text, '');
  }
  assert.ok(seen.size >= 20, `the console's modules were followed (${seen.size})`);
});

test('files the console does not have are 404 in the error shape, and only GET and HEAD are served', async () => {
  for (const p of ['/ui/static/nope.js', '/ui/static/', '/ui/static/js/../../../etc/passwd', '/ui/static/%2e%2e/index.html']) {
    // Sent as written: no client-side path normalisation.
    const res = await rawRequest(server.url, { path: p });
    expectError(res, 404, 'not_found');
    assertSecurityHeaders(res, p);
  }
  expectError(await server.api('POST', '/', { body: {} }), 404, 'not_found');
  expectError(await server.api('DELETE', '/ui/users'), 404, 'not_found');
});

test('--console-dir serves a working copy and nothing outside it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-console-'));
  const copy = path.join(dir, 'console');
  fs.mkdirSync(path.join(copy, 'static'), { recursive: true });
  fs.writeFileSync(path.join(copy, 'index.html'), '<!doctype html><title>working copy</title>');
  fs.writeFileSync(path.join(copy, 'static', 'a.js'), 'export const a = 1;\n');
  fs.writeFileSync(path.join(copy, 'static', '.hidden.js'), 'secret');
  fs.writeFileSync(path.join(dir, 'secret.js'), 'secret');
  const dev = await startGatehouse({ args: ['--console-dir', `${copy}/`] });
  try {
    const page = await dev.api('GET', '/ui/users');
    assert.equal(page.status, 200);
    assert.equal(page.text, '<!doctype html><title>working copy</title>');
    assertSecurityHeaders(page, 'working copy');
    const js = await dev.api('GET', '/ui/static/a.js');
    assert.equal(js.status, 200);
    assert.equal(js.text, 'export const a = 1;\n');
    assert.equal(js.headers['cache-control'], 'no-store');
    for (const p of ['/ui/static/../../secret.js', '/ui/static/.hidden.js', '/ui/static//a.js', '/ui/static/a.txt']) {
      const res = await rawRequest(dev.url, { path: p });
      expectError(res, 404, 'not_found');
      assert.ok(!res.text.includes('secret'), p);
    }
  } finally {
    await dev.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an invitation link opens the console with the token in the fragment, never sent to a server', async () => {
  const s = await signup(server);
  const res = await server.api('POST', '/api/v1/users/invite', { token: s.token, body: { email: `inv-${Date.now()}@example.com` } });
  const json = expectOk(res, 201);
  assert.equal(json.invite_url, `/ui/invite#token=${json.invite_token}`);
  const page = await server.api('GET', new URL(json.invite_url, 'http://x').pathname);
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'], /^text\/html/);
});
