// Provider API keys at rest and in logs: after a server has stored, rotated,
// refused and used provider keys on every proxy path, none of them appears in
// the data directory, the database or the server's output.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import {
  BACKEND, PROXY_ARGS, assertAbsent, createProvider, dumpDatabase, expectError, expectOk, hex, listFiles,
  secretForms, setPlan, signup, startGatehouse, streamRequest, waitForLog,
} from './harness.mjs';
import { closedPortUrl, startMockUpstream } from './mock_upstream.mjs';

function providerKey(tag) {
  return `sk-${tag}-${hex(24)}`;
}

/// Every form of `keys` that must not be found; the random part on its own too.
function needlesOf(keys) {
  return {
    'a provider API key': keys.flatMap((k) => [...secretForms(k), k.slice(k.lastIndexOf('-') + 1)]),
  };
}

function hexForms(needles) {
  return Object.fromEntries(Object.entries(needles).map(([label, values]) =>
    [`${label} (hex)`, values.map((v) => Buffer.from(v, 'latin1').toString('hex'))]));
}

describe('provider keys', () => {
  test('are stored encrypted and never logged', async () => {
    const mock = await startMockUpstream();
    const gh = await startGatehouse({ args: [...PROXY_ARGS] });
    let stopped = false;
    try {
      const s = await signup(gh);
      // Enterprise: refused creations must fail on their key or URL, not on the plan's limit.
      await setPlan(gh, s.org.id, 'enterprise');
      const keys = {
        openai: providerKey('openai'),
        anthropic: providerKey('anthropic'),
        dead: providerKey('dead'),
        rotated: providerKey('rotated'),
        refusedPassthrough: providerKey('refused'),
        refusedSsrf: providerKey('ssrf'),
        refusedUpdate: providerKey('upd'),
      };
      await createProvider(gh, s, { name: 'openai', base_url: `${mock.url}/p/openai`, api_key: keys.openai });
      await createProvider(gh, s, {
        name: 'anthropic', base_url: `${mock.url}/p/anthropic`, api_key: keys.anthropic,
        auth_header: 'x-api-key', auth_scheme: '',
      });
      await createProvider(gh, s, { name: 'dead', base_url: await closedPortUrl(), api_key: keys.dead });
      expectError(await gh.api('POST', '/api/v1/providers', {
        token: s.token, body: { name: 'pass', base_url: mock.url, auth_mode: 'passthrough', api_key: keys.refusedPassthrough },
      }), 400, 'invalid_request', 'api_key');
      expectError(await gh.api('POST', '/api/v1/providers', {
        token: s.token, body: { name: 'evil', base_url: 'http://169.254.169.254', api_key: keys.refusedSsrf },
      }), 400, 'invalid_request', 'base_url');
      expectError(await gh.api('PUT', '/api/v1/providers/openai', {
        token: s.token, body: { api_key: keys.refusedUpdate, bogus: true },
      }), 400, 'invalid_request', 'bogus');
      expectOk(await gh.api('PUT', '/api/v1/org', { token: s.token, body: { settings: { log_bodies: true } } }));

      // Every proxy path, with bodies logged.
      const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
      const answers = [];
      answers.push(await gh.api('POST', '/v1/chat/completions', { key: s.apiKey, body: chat }));
      answers.push(await gh.api('POST', '/v1/chat/completions', {
        key: s.apiKey, body: chat, headers: { 'x-mock-status': '401' },
      }));
      answers.push(await gh.api('POST', '/v1/chat/completions', {
        key: s.apiKey, body: chat, headers: { 'x-gatehouse-provider': 'dead' },
      }));
      answers.push(await gh.api('POST', '/v1/messages', {
        key: s.apiKey, body: { model: 'claude-3-5-haiku-latest', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] },
      }));
      answers.push(await gh.api('GET', '/v1/models', { key: s.apiKey }));
      const streamed = await streamRequest(gh.url, '/v1/chat/completions', { key: s.apiKey, body: { ...chat, stream: true } });
      assert.equal(streamed.status, 200);

      // Rotate the openai key and use the new one.
      expectOk(await gh.api('PUT', '/api/v1/providers/openai', { token: s.token, body: { api_key: keys.rotated } }));
      const last = await gh.api('POST', '/v1/chat/completions', { key: s.apiKey, body: chat });
      assert.equal(last.status, 200);
      assert.equal(mock.lastRequest((r) => r.label === 'openai').headers.authorization, `Bearer ${keys.rotated}`);
      assert.ok(mock.requests.some((r) => r.headers.authorization === `Bearer ${keys.openai}`));
      assert.ok(mock.requests.some((r) => r.headers['x-api-key'] === keys.anthropic));

      await waitForLog(gh, s, last.headers['x-gatehouse-request-id']);
      const logs = expectOk(await gh.api('GET', '/api/v1/logs?limit=500', { token: s.token }));
      const providers = expectOk(await gh.api('GET', '/api/v1/providers', { token: s.token }));
      const needles = needlesOf(Object.values(keys));
      for (const res of [...answers, logs, providers]) {
        assertAbsent(res.text ?? JSON.stringify(res), needles, 'an API answer');
      }
      assertAbsent(streamed.text, needles, 'a streamed answer');

      const { code } = await gh.stop();
      stopped = true;
      assert.equal(code, 0);

      const files = listFiles(gh.dataDir);
      if (BACKEND === 'sqlite') {
        assert.ok(files.some((f) => path.basename(f).startsWith('gatehouse.db')), 'no database file in the data dir');
      }
      for (const file of files) {
        const content = fs.readFileSync(file).toString('latin1');
        const name = path.relative(gh.dataDir, file);
        assertAbsent(content, needles, name);
        assertAbsent(content, hexForms(needles), name);
      }
      assertAbsent(gh.stderr() + gh.stdout(), needles, 'the logs');
      if (BACKEND === 'postgres') {
        const dump = await dumpDatabase(gh.database);
        assertAbsent(dump, needles, 'the database');
        assertAbsent(dump, hexForms(needles), 'the database');
      }
    } finally {
      if (!stopped) await gh.stop();
      await gh.dispose();
      await mock.close();
    }
  });
});
