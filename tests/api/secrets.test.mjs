// Secrets at rest and in logs: raw API keys, passwords, session tokens, the
// master key and the JWT secret appear nowhere they should not; generated
// secret files are private and reused across restarts.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import {
  BACKEND, decodeJwt, dumpDatabase, expectError, expectOk, hex, listFiles, runGatehouse, sha256Hex,
  signup, startGatehouse,
} from './harness.mjs';

/// Variants under which a secret could be stored or logged.
function forms(value) {
  const buf = Buffer.from(value, 'utf8');
  return [
    value,
    buf.toString('base64'),
    buf.toString('base64url'),
    encodeURIComponent(value),
  ].filter((v, i, all) => v.length >= 12 && all.indexOf(v) === i);
}

/// Fails when any needle occurs in `haystack` (a latin1 string).
function assertAbsent(haystack, needles, where) {
  for (const [label, values] of Object.entries(needles)) {
    for (const v of values) {
      assert.ok(!haystack.includes(v), `${label} found in ${where}`);
    }
  }
}

function assertPrivate(file) {
  assert.ok(fs.existsSync(file), `${path.basename(file)} is missing`);
  const mode = fs.statSync(file).mode & 0o777;
  assert.equal(mode, 0o600, `${path.basename(file)} has mode ${mode.toString(8)}`);
}

/// Drives a server through every secret-bearing operation; returns the
/// secrets that went over the wire.
async function exercise(gh) {
  const s = await signup(gh);
  const wrongPassword = `wrong-${hex(10)}`;
  expectError(await gh.api('POST', '/api/v1/login', { body: { email: s.email, password: wrongPassword } }),
    401, 'invalid_credentials');
  const created = expectOk(await gh.api('POST', '/api/v1/keys', { token: s.token, body: { name: 'secret-scan' } }), 201);
  const rotated = expectOk(await gh.api('POST', `/api/v1/keys/${created.key.id}/rotate`, {
    token: s.token, body: { overlap_hours: 1 },
  }));
  const login = expectOk(await gh.api('POST', '/api/v1/login', { body: { email: s.email, password: s.password } }));
  const queryKey = `sk-gate-${hex(32)}`;
  expectError(await gh.api('GET', `/api/v1/keys?key=${queryKey}`, { token: s.token }), 401, 'key_in_query');
  const queryToken = `qs-${hex(16)}`;
  expectError(await gh.api('GET', `/healthz?token=${queryToken}`), 401, 'key_in_query');
  // A second signup with the same email proves the password check, too.
  const second = expectOk(await gh.api('POST', '/api/v1/signup', {
    body: {
      email: s.email, password: s.password, org_slug: `${s.slug}-two`, org_name: 'Two', display_name: 'Same',
    },
  }), 201);
  return {
    s,
    rawKeys: [s.apiKey, created.raw_key, rotated.raw_key],
    passwords: [s.password, wrongPassword],
    tokens: [s.token, login.token, second.token],
    query: [queryKey, queryToken],
  };
}

function needlesOf(sec) {
  return {
    'a raw API key': sec.rawKeys.flatMap((k) => [...forms(k), k.slice('sk-gate-'.length)]),
    'a password': sec.passwords.flatMap(forms),
    'a session token': sec.tokens.flatMap((t) => [...forms(t), t.split('.')[2]]),
    'a query-string secret': sec.query.flatMap(forms),
  };
}

function hexForms(needles) {
  // bytea and similar columns show bytes as hex
  return Object.fromEntries(Object.entries(needles).map(([label, values]) =>
    [`${label} (hex)`, values.map((v) => Buffer.from(v, 'latin1').toString('hex'))]));
}

describe('generated secrets', () => {
  test('nothing secret is stored or logged in the clear', async () => {
    const gh = await startGatehouse();
    let stopped = false;
    try {
      const sec = await exercise(gh);
      const { code } = await gh.stop();
      stopped = true;
      assert.equal(code, 0);

      const masterFile = path.join(gh.dataDir, 'master.key');
      const jwtFile = path.join(gh.dataDir, 'jwt.secret');
      assertPrivate(masterFile);
      assertPrivate(jwtFile);

      const masterRaw = fs.readFileSync(masterFile, 'latin1').trim();
      assert.match(masterRaw, /^[0-9a-fA-F]{64}$/, 'master.key holds 64 hex characters');
      const masterBytes = Buffer.from(masterRaw, 'hex');
      const masterNeedles = [masterRaw.toLowerCase(), masterRaw.toUpperCase(), masterBytes.toString('latin1'),
        masterBytes.toString('base64')];
      const jwtRaw = fs.readFileSync(jwtFile, 'latin1').trim();
      assert.ok(jwtRaw.length >= 16, 'jwt.secret is too short to be a secret');
      const jwtNeedles = [jwtRaw];
      if (/^[0-9a-fA-F]+$/.test(jwtRaw) && jwtRaw.length % 2 === 0) {
        jwtNeedles.push(Buffer.from(jwtRaw, 'hex').toString('latin1'));
      }

      const needles = needlesOf(sec);
      const files = listFiles(gh.dataDir);
      assert.ok(files.includes(masterFile) && files.includes(jwtFile));
      if (BACKEND === 'sqlite') {
        assert.ok(files.some((f) => path.basename(f).startsWith('gatehouse.db')), 'no database file in the data dir');
      }
      for (const file of files) {
        const content = fs.readFileSync(file).toString('latin1');
        const name = path.relative(gh.dataDir, file);
        assertAbsent(content, needles, name);
        if (file !== masterFile) assertAbsent(content, { 'the master key': masterNeedles }, name);
        if (file !== jwtFile) assertAbsent(content, { 'the JWT secret': jwtNeedles }, name);
      }

      const logs = gh.stderr() + gh.stdout();
      assertAbsent(logs, needles, 'the logs');
      assertAbsent(logs, { 'the master key': masterNeedles, 'the JWT secret': jwtNeedles }, 'the logs');
      assertAbsent(logs, { 'a full key hash': sec.rawKeys.map(sha256Hex) }, 'the logs');

      // --log-format json: one JSON object a line
      const lines = gh.stderr().split('\n').filter((l) => l.trim().length > 0);
      for (const line of lines) {
        let parsed;
        assert.doesNotThrow(() => { parsed = JSON.parse(line); }, `not a JSON log line: ${line}`);
        assert.equal(typeof parsed, 'object');
        assert.ok(parsed !== null && !Array.isArray(parsed), `not a JSON object: ${line}`);
      }

      if (BACKEND === 'postgres') {
        const dump = await dumpDatabase(gh.database);
        assertAbsent(dump, needles, 'the database');
        assertAbsent(dump, hexForms(needles), 'the database');
        assertAbsent(dump, { 'the master key': masterNeedles.slice(0, 2), 'the JWT secret': [jwtRaw] }, 'the database');
      }

      // A restart reuses both files unchanged, and earlier sessions stay valid.
      const before = { master: fs.readFileSync(masterFile), jwt: fs.readFileSync(jwtFile) };
      const again = await startGatehouse({ dataDir: gh.dataDir, database: gh.database });
      try {
        const me = expectOk(await again.api('GET', '/api/v1/auth/me', { token: sec.tokens[1] }));
        assert.equal(me.user.id, sec.s.user.id);
        expectOk(await again.api('POST', '/api/v1/login', { body: { email: sec.s.email, password: sec.s.password } }));
      } finally {
        assert.equal((await again.stop()).code, 0);
      }
      assert.deepEqual(fs.readFileSync(masterFile), before.master, 'master.key changed on restart');
      assert.deepEqual(fs.readFileSync(jwtFile), before.jwt, 'jwt.secret changed on restart');
      assertPrivate(masterFile);
      assertPrivate(jwtFile);
    } finally {
      if (!stopped) await gh.stop();
      await gh.dispose();
    }
  });
});

describe('secrets from the environment', () => {
  test('are used, not written to the data dir, and never logged', async () => {
    const masterKey = hex(32);
    const jwtSecret = hex(24);
    const gh = await startGatehouse({ env: { GATEHOUSE_MASTER_KEY: masterKey, GATEHOUSE_JWT_SECRET: jwtSecret } });
    try {
      const sec = await exercise(gh);
      // The session token is signed with the configured secret.
      const [h, p] = sec.s.token.split('.');
      assert.equal(decodeJwt(sec.s.token).header.alg, 'HS256');
      const sigs = [Buffer.from(jwtSecret, 'utf8'), Buffer.from(jwtSecret, 'hex')].map((k) =>
        crypto.createHmac('sha256', k).update(`${h}.${p}`).digest('base64url'));
      assert.ok(sigs.includes(sec.s.token.split('.')[2]), 'token not signed with GATEHOUSE_JWT_SECRET');
      assert.equal((await gh.stop()).code, 0);

      const files = listFiles(gh.dataDir);
      const names = files.map((f) => path.basename(f));
      assert.ok(!names.includes('master.key'), 'master.key written although GATEHOUSE_MASTER_KEY is set');
      assert.ok(!names.includes('jwt.secret'), 'jwt.secret written although GATEHOUSE_JWT_SECRET is set');

      const needles = {
        ...needlesOf(sec),
        'GATEHOUSE_MASTER_KEY': [masterKey, masterKey.toUpperCase(), Buffer.from(masterKey, 'hex').toString('latin1')],
        'GATEHOUSE_JWT_SECRET': [jwtSecret],
      };
      for (const file of files) {
        assertAbsent(fs.readFileSync(file).toString('latin1'), needles, path.relative(gh.dataDir, file));
      }
      assertAbsent(gh.stderr() + gh.stdout(), needles, 'the logs');
      if (BACKEND === 'postgres') {
        const dump = await dumpDatabase(gh.database);
        assertAbsent(dump, needles, 'the database');
        assertAbsent(dump, hexForms(needles), 'the database');
      }
    } finally {
      await gh.dispose();
    }
  });

  test('a malformed GATEHOUSE_MASTER_KEY stops start-up, without echoing it', async () => {
    const bad = `zz${hex(20)}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-mk-'));
    try {
      const r = await runGatehouse(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir],
        { env: { GATEHOUSE_MASTER_KEY: bad }, timeoutMs: 10_000 });
      assert.equal(r.timedOut, false, 'gatehouse started with a malformed master key');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /master[_ ]?key/i);
      assert.ok(!r.stderr.includes(bad) && !r.stdout.includes(bad), 'the bad master key was echoed');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
