// Providers reached over https: the certificate is verified against the
// system's CA store, so a provider with a certificate no trusted authority
// signed is refused before any request reaches it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, createProvider, expectError, signup, startGatehouse,
} from './harness.mjs';

/// An https server on 127.0.0.1 with a fresh self-signed certificate that
/// counts the requests it gets.
async function selfSignedServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  let requests = 0;
  const server = https.createServer(
    { key: fs.readFileSync(key), cert: fs.readFileSync(cert) },
    (req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}');
    });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${server.address().port}`,
    requests: () => requests,
    close: () => { server.close(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

describe('https providers', () => {
  let gh;
  let upstream;
  before(async () => {
    gh = await startGatehouse({ args: [...PROXY_ARGS] });
    upstream = await selfSignedServer();
  });
  after(async () => {
    upstream?.close();
    await gh?.stop();
  });

  test('an untrusted certificate is refused with 502 and nothing is sent', async () => {
    const s = await signup(gh);
    await createProvider(gh, s, { name: 'openai', base_url: upstream.url, api_key: 'sk-upstream-tls' });
    const res = await gh.api('POST', '/v1/chat/completions', {
      key: s.apiKey,
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    });
    expectError(res, 502, 'upstream_error');
    assert.equal(res.headers['x-gatehouse-provider'], 'openai');
    assert.equal(upstream.requests(), 0, 'the provider must not receive the request');
    assert.ok(!gh.stderr().includes('sk-upstream-tls'), 'the provider key must not be logged');
  });
});
