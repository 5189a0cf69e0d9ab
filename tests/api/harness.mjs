// Black-box harness for the API tests: starts the real `gatehouse` binary on
// a fresh data directory (and, for PostgreSQL, a fresh database), talks to it
// over HTTP and stops it with SIGTERM.
//
// Environment:
//   GATEHOUSE_BIN            absolute path of the binary under test (required)
//   GATEHOUSE_TEST_BACKEND   `sqlite` (default) or `postgres`
//   GATEHOUSE_TEST_PG_URL    admin URL of a PostgreSQL server (postgres only)
//   GATEHOUSE_TEST_VERBOSE   `1` copies the servers' stderr to ours
//   GATEHOUSE_TEST_KEEP      `1` keeps data directories and databases

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BACKEND = process.env.GATEHOUSE_TEST_BACKEND || 'sqlite';
const VERBOSE = process.env.GATEHOUSE_TEST_VERBOSE === '1';
const KEEP = process.env.GATEHOUSE_TEST_KEEP === '1';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

if (BACKEND !== 'sqlite' && BACKEND !== 'postgres') {
  throw new Error(`GATEHOUSE_TEST_BACKEND must be sqlite or postgres, not '${BACKEND}'`);
}

// ---------------------------------------------------------------------------
// Small value helpers

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// Request ids and request log ids: time-ordered.
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
export const API_KEY = /^sk-gate-[0-9a-f]{64}$/;
export const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/// Random lowercase hex string of `bytes` bytes.
export function hex(bytes = 8) {
  return crypto.randomBytes(bytes).toString('hex');
}

/// A name that no other test (or test process) uses.
export function uniq(prefix = 'x') {
  return `${prefix}-${hex(6)}`;
}

/// A random v4 UUID (for ids that must not exist).
export function randomUuid() {
  return crypto.randomUUID();
}

export function sha256Hex(text) {
  return crypto.createHash('sha256').update(text).digest('hex');
}

let ipCounter = crypto.randomInt(0, 1 << 16) * 254;

/// A client address never handed out before in this process; the server
/// trusts X-Forwarded-For from 127.0.0.1, so each logical client gets its own
/// auth rate-limit bucket.
export function newIp() {
  const n = ipCounter++;
  const host = (n % 254) + 1;
  const mid = Math.floor(n / 254) % 256;
  const high = Math.floor(n / (254 * 256)) % 256;
  return `10.${high}.${mid}.${host}`;
}

/// A TCP port on 127.0.0.1 that nothing listens on now.
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/// Asserts `value` is an RFC 3339 UTC timestamp within `slackMs` of now.
export function assertRecentTimestamp(value, slackMs = 5 * 60_000) {
  assert.equal(typeof value, 'string', `timestamp must be a string, got ${JSON.stringify(value)}`);
  assert.match(value, RFC3339_UTC);
  const delta = Math.abs(Date.parse(value) - Date.now());
  assert.ok(delta < slackMs, `timestamp ${value} is ${delta} ms away from now`);
}

/// Walks `value` and fails if any object key mentions a hash or a password.
export function assertNoSecretFields(value, where = 'body') {
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertNoSecretFields(v, `${where}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      assert.ok(!/hash|password|secret/i.test(k), `${where} must not carry field '${k}'`);
      assertNoSecretFields(v, `${where}.${k}`);
    }
  }
}

// ---------------------------------------------------------------------------
// JWT helpers

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

export function decodeJwt(token) {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
    signature: s,
  };
}

/// Builds a JWT; `alg` HS256/HS384/HS512 signs with `key`, `none` leaves the
/// signature empty.
export function signJwt(payload, key, header = { alg: 'HS256', typ: 'JWT' }) {
  const head = b64url(JSON.stringify(header));
  const body = b64url(JSON.stringify(payload));
  const input = `${head}.${body}`;
  const algs = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
  if (header.alg === 'none') return `${input}.`;
  const mac = crypto.createHmac(algs[header.alg], key).update(input).digest();
  return `${input}.${b64url(mac)}`;
}

// ---------------------------------------------------------------------------
// Processes

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

function binary() {
  const bin = process.env.GATEHOUSE_BIN;
  if (!bin) throw new Error('GATEHOUSE_BIN is not set (absolute path of build/gatehouse)');
  if (!path.isAbsolute(bin)) throw new Error(`GATEHOUSE_BIN must be absolute, got '${bin}'`);
  if (!fs.existsSync(bin)) throw new Error(`GATEHOUSE_BIN '${bin}' does not exist`);
  return bin;
}

/// The environment of a child: ours without any GATEHOUSE_* variable (so that
/// neither the test settings nor a developer's shell leak into the server),
/// plus `extra`.
export function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined || v === null) delete env[k];
    else env[k] = String(v);
  }
  return env;
}

/// The first sanitizer report (ASan, LSan, UBSan, TSan) in a process's
/// stderr, or null. An instrumented server (scripts/test-sanitizers) that
/// printed one fails the test that stops it, whatever its exit status.
export function sanitizerReport(stderr) {
  const m = /^.*(ERROR: \w+Sanitizer|WARNING: ThreadSanitizer|: runtime error: |SUMMARY: \w+Sanitizer)/m
    .exec(stderr);
  return m ? stderr.slice(m.index, m.index + 8000) : null;
}

function waitExit(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/// Runs the binary to completion (a CLI command, or a `serve` that is meant
/// to fail at start-up). Kills it after `timeoutMs` and reports `timedOut`.
export async function runGatehouse(args, { env = {}, timeoutMs = 15_000, cwd } = {}) {
  const child = spawn(binary(), args, {
    env: childEnv(env),
    cwd: cwd || os.tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const out = [];
  const err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const closed = new Promise((resolve) => child.once('close', resolve));
  const spawnError = new Promise((resolve) => child.once('error', resolve));
  const first = await Promise.race([closed.then(() => null), spawnError]);
  clearTimeout(timer);
  live.delete(child);
  if (first instanceof Error) throw first;
  const report = sanitizerReport(Buffer.concat(err).toString('utf8'));
  if (report) throw new Error(`gatehouse ${args.join(' ')} printed a sanitizer report:\n${report}`);
  return {
    code: child.exitCode,
    signal: child.signalCode,
    timedOut,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

// ---------------------------------------------------------------------------
// PostgreSQL

/// Runs one SQL statement with psql; resolves to its unaligned output.
export function psql(url, sql, { timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [url, '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-A', '-t', '-c', sql], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run psql: ${e.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) resolve(stdout);
      else reject(new Error(`psql failed (exit ${code}) for: ${sql}\n${Buffer.concat(err).toString('utf8')}`));
    });
  });
}

function pgAdminUrl() {
  const url = process.env.GATEHOUSE_TEST_PG_URL;
  if (!url) {
    throw new Error(
      'GATEHOUSE_TEST_BACKEND=postgres needs GATEHOUSE_TEST_PG_URL ' +
        '(e.g. postgresql://postgres@127.0.0.1:5432/gatehouse_test)');
  }
  return url;
}

/// Creates an empty database and returns its URL; null for SQLite (the
/// server then uses `<data-dir>/gatehouse.db`).
export async function freshDatabase() {
  if (BACKEND !== 'postgres') return null;
  const admin = pgAdminUrl();
  const name = `gh_${hex(8)}`;
  await psql(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(url) {
  if (!url || KEEP) return;
  const name = new URL(url).pathname.slice(1);
  try {
    await psql(pgAdminUrl(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch {
    // a leftover database in a throwaway cluster is harmless
  }
}

/// Every row of every table of a PostgreSQL database, as text.
export async function dumpDatabase(url) {
  const tables = (await psql(url,
    "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables " +
      "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"))
    .split('\n').map((s) => s.trim()).filter(Boolean);
  assert.ok(tables.length > 0, 'the database has no tables');
  let dump = '';
  for (const t of tables) {
    dump += `-- ${t}\n` + (await psql(url, `COPY ${t} TO STDOUT`));
  }
  return dump;
}

/// `--database URL` when the backend needs one.
export function databaseArgs(database) {
  return database ? ['--database', database] : [];
}

// ---------------------------------------------------------------------------
// Server

/// Starts `gatehouse serve` and waits until it listens.
///
/// opts:
///   operatorToken  string to use, false to run without one (default: random)
///   dataDir        reuse a data directory (default: a fresh temp directory)
///   database       reuse a PostgreSQL database (default: a fresh one)
///   args           extra command-line arguments
///   env            extra environment variables
///   bcryptCost     default 4
export async function startGatehouse(opts = {}) {
  // The database first: when PostgreSQL is unusable nothing is left behind.
  const ownsDatabase = BACKEND === 'postgres' && !opts.database;
  const database = BACKEND === 'postgres' ? (opts.database || (await freshDatabase())) : null;
  const ownsDataDir = !opts.dataDir;
  const dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-api-'));
  const operatorToken = opts.operatorToken === undefined ? hex(16) : opts.operatorToken || null;

  const args = [
    'serve',
    '--listen', '127.0.0.1:0',
    '--data-dir', dataDir,
    '--bcrypt-cost', String(opts.bcryptCost ?? 4),
    ...(operatorToken ? ['--operator-token', operatorToken] : []),
    '--trusted-proxies', '127.0.0.1/32',
    '--log-format', 'json',
    ...databaseArgs(database),
    ...(opts.args || []),
  ];
  const child = spawn(binary(), args, {
    env: childEnv(opts.env),
    cwd: dataDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);

  const errChunks = [];
  const outChunks = [];
  child.stderr.on('data', (d) => {
    errChunks.push(d);
    if (VERBOSE) process.stderr.write(d);
  });
  child.stdout.on('data', (d) => outChunks.push(d));
  const stderr = () => Buffer.concat(errChunks).toString('latin1');
  const stdout = () => Buffer.concat(outChunks).toString('latin1');
  const exited = waitExit(child);

  let url;
  try {
    url = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`gatehouse did not report listening within ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS);
      const onData = () => {
        const m = /^gatehouse listening on (http:\/\/[^\s/]+)\/?\r?$/m.exec(stdout());
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', onData);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`gatehouse exited before listening (code ${code}, signal ${signal})`));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    live.delete(child);
    if (ownsDatabase) await dropDatabase(database);
    if (ownsDataDir && !KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${e.message}\nargs: ${args.join(' ')}\n--- stdout ---\n${stdout()}\n--- stderr ---\n${stderr()}`);
  }

  // The server must not keep a test process alive on its own: a file whose
  // tests failed early still ends, and the exit hook kills what is left.
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();

  let stopped = null;
  const server = {
    url,
    dataDir,
    database,
    operatorToken,
    args,
    pid: child.pid,
    stderr,
    stdout,
    /// Whether the process is still running.
    alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    /// SIGTERM, then SIGKILL after 10 s; resolves to {code, signal, ms}.
    stop() {
      if (stopped) return stopped;
      child.ref();
      child.stdout.ref?.();
      child.stderr.ref?.();
      const t0 = Date.now();
      stopped = (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const res = await exited;
        clearTimeout(timer);
        // Let the pipes drain so stderr() holds the last log lines.
        await Promise.all([
          new Promise((r) => (child.stdout.readableEnded || child.stdout.destroyed ? r() : child.stdout.once('close', r))),
          new Promise((r) => (child.stderr.readableEnded || child.stderr.destroyed ? r() : child.stderr.once('close', r))),
        ]);
        live.delete(child);
        const report = sanitizerReport(stderr());
        if (report) throw new Error(`gatehouse printed a sanitizer report:\n${report}`);
        return { ...res, ms: Date.now() - t0 };
      })();
      return stopped;
    },
    /// Stops the server (if running) and removes what this start created.
    async dispose() {
      try {
        return await server.stop();
      } finally {
        if (ownsDatabase) await dropDatabase(database);
        if (ownsDataDir && !KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
    /// Sends raw bytes on a new connection and reads one answer; see
    /// `rawExchange`. A failure reports whether the server died.
    async raw(bytes, o) {
      try {
        return await rawExchange(url, bytes, o);
      } catch (e) {
        await sleep(200);
        const dead = child.exitCode !== null || child.signalCode !== null;
        throw new Error(`raw request: ${e.message}` +
          (dead ? `\ngatehouse died (code ${child.exitCode}, signal ${child.signalCode}); stderr tail:\n` +
            stderr().slice(-4000) : ''));
      }
    },
    /// Sends one request; see `request`. A transport failure reports whether
    /// the server died, with the end of its stderr.
    async api(method, p, o) {
      try {
        return await request(url, method, p, o);
      } catch (e) {
        await sleep(200);
        const dead = child.exitCode !== null || child.signalCode !== null;
        throw new Error(`${method} ${p}: ${e.cause?.message || e.message}` +
          (dead ? `\ngatehouse died (code ${child.exitCode}, signal ${child.signalCode}); stderr tail:\n` +
            stderr().slice(-4000) : ''));
      }
    },
  };
  return server;
}

// ---------------------------------------------------------------------------
// HTTP

function lowerHeaders(headers) {
  const out = {};
  for (const [k, v] of headers) out[k.toLowerCase()] = v;
  return out;
}

/// Sends one request to `baseUrl + p` and returns {status, headers, json, text}.
///
/// o.token     session or operator token (Authorization: Bearer)
/// o.key       API key (X-Gatehouse-Key)
/// o.body      value sent as JSON
/// o.raw       string/Buffer sent as is (with Content-Type application/json)
/// o.headers   extra headers
/// o.ip        X-Forwarded-For (default: a fresh address per request)
export async function request(baseUrl, method, p, o = {}) {
  const headers = { 'x-forwarded-for': o.ip || newIp() };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.key !== undefined) headers['x-gatehouse-key'] = o.key;
  let body;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  for (const [k, v] of Object.entries(o.headers || {})) {
    if (v === undefined || v === null) delete headers[k.toLowerCase()];
    else headers[k.toLowerCase()] = v;
  }
  const res = await fetch(baseUrl + p, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json = null;
  try {
    json = text.length ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: lowerHeaders(res.headers), json, text };
}

/// A raw node:http request, for what fetch cannot do (oversized headers,
/// bodies that the server refuses before reading them). `write(req)` may
/// stream the body; the promise resolves at the first response.
export function rawRequest(baseUrl, { method = 'GET', path: p = '/', headers = {}, write, agent = false } = {}) {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request({
      host: u.hostname,
      port: u.port,
      method,
      path: p,
      headers: { 'x-forwarded-for': newIp(), ...headers },
      agent,
    });
    req.on('response', (res) => {
      answered = true;
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('error', () => {});
      const done = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = text.length ? JSON.parse(text) : null;
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode, headers: res.headers, json, text, reusedSocket: req.reusedSocket });
        // A body the server refused half-way is not sent any further.
        if (!req.writableFinished) req.destroy();
      };
      res.on('end', done);
      res.on('aborted', done);
      res.on('close', () => { if (!res.complete) done(); });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (write) write(req, () => answered);
    else req.end();
  });
}

// ---------------------------------------------------------------------------
// Assertions and domain helpers

/// Asserts the one error shape of every route, the status, the code and,
/// when given, that the message names `field`.
export function expectError(res, status, code, field) {
  const ctx = `${status} ${code} expected, got ${res.status}: ${res.text}`;
  assert.equal(res.status, status, ctx);
  assert.ok(res.headers['x-gatehouse-request-id'], `X-Gatehouse-Request-Id missing (${ctx})`);
  assert.ok(res.json && typeof res.json === 'object', `error body is not JSON: ${res.text}`);
  const { message } = res.json;
  assert.equal(typeof message, 'string', ctx);
  assert.ok(message.length > 0, 'error message must not be empty');
  assert.deepEqual(res.json, {
    error_code: code,
    message,
    error: { code, message, type: 'gatehouse_error' },
  }, ctx);
  if (field !== undefined) {
    assert.ok(message.includes(field), `error message '${message}' should name '${field}'`);
  }
  return res.json;
}

/// Asserts a 2xx status with a request id and returns the JSON body.
export function expectOk(res, status = 200) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.ok(res.headers['x-gatehouse-request-id'], 'X-Gatehouse-Request-Id missing');
  assert.ok(res.json && typeof res.json === 'object', `body is not a JSON object: ${res.text}`);
  return res.json;
}

/// A valid signup body with unique email and slug; `overrides` replace fields
/// (a value of undefined removes the field).
export function signupBody(overrides = {}) {
  const tag = hex(5);
  const body = {
    email: `user-${tag}@example.com`,
    password: `pw-${hex(10)}`,
    org_slug: `org-${tag}`,
    org_name: `Org ${tag}`,
    display_name: `User ${tag}`,
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete body[k];
    else body[k] = v;
  }
  return body;
}

/// Signs a new user and org up (201 asserted) and returns
/// {org, user, apiKey, token, email, password, slug, body}.
export async function signup(server, overrides = {}) {
  const body = signupBody(overrides);
  const res = await server.api('POST', '/api/v1/signup', { body });
  const json = expectOk(res, 201);
  return {
    org: json.org,
    user: json.user,
    apiKey: json.api_key,
    token: json.token,
    email: body.email,
    password: body.password,
    slug: body.org_slug,
    body,
    response: json,
  };
}

/// Sets an org's plan through the operator API (200 asserted).
export async function setPlan(server, orgId, plan) {
  const res = await server.api('PUT', `/api/v1/admin/orgs/${orgId}/plan`, {
    token: server.operatorToken,
    body: { plan },
  });
  return expectOk(res);
}

export const FREE_ENTITLEMENTS = Object.freeze({
  proxy: true, streaming: true, logging: true, prompts: true, evals: true,
  datasets: true, playground: true, sessions: true, usage_analytics: true,
  provider_auto_detection: true, provider_fallback: false, format_translation: false,
  pii_redaction: false, guardrails: false, caching: false, webhooks: false,
  audit_log: false, budget_controls: false, cost_tracking: false, prometheus_metrics: false,
  per_key_rate_limits: false, byos: false, priority_support: false, custom_sla: false,
});

export const ENTERPRISE_ENTITLEMENTS = Object.freeze(
  Object.fromEntries(Object.keys(FREE_ENTITLEMENTS).map((k) => [k, true])));

/// The exact entitlements answer for `orgId` on `plan`.
export function expectedEntitlements(orgId, plan, retentionDays = 90) {
  if (plan === 'free') {
    return {
      org_id: orgId,
      plan: 'free',
      entitlements: { ...FREE_ENTITLEMENTS },
      limits: { max_providers: 3, max_api_keys: 5, log_retention_days: 7 },
    };
  }
  return {
    org_id: orgId,
    plan: 'enterprise',
    entitlements: { ...ENTERPRISE_ENTITLEMENTS },
    limits: { max_providers: null, max_api_keys: 100, log_retention_days: retentionDays },
  };
}

/// Every regular file below `dir`, recursively.
export function listFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Data plane

/// Flags of a server that proxies to the mock upstream on 127.0.0.1:
/// private upstreams allowed for that address only, a 2 s upstream timeout.
export const PROXY_ARGS = Object.freeze([
  '--allow-private-upstreams', '127.0.0.1/32',
  '--upstream-timeout', '2',
]);

/// Calls `fn` until it returns a truthy value and returns that value; fails
/// after `timeoutMs` with the last value or error in the message.
export async function poll(fn, { timeoutMs = 3000, intervalMs = 50, what = 'the condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`${what} did not hold within ${timeoutMs} ms (last: ${detail})`);
    }
    await sleep(intervalMs);
  }
}

/// Creates a provider for the session `s` (201 asserted) and returns it.
export async function createProvider(server, s, body) {
  const res = await server.api('POST', '/api/v1/providers', { token: s.token, body });
  return expectOk(res, 201);
}

/// Creates an API key for the session `s` (201 asserted); {key, raw_key}.
export async function createKey(server, s, body) {
  const res = await server.api('POST', '/api/v1/keys', { token: s.token, body });
  return expectOk(res, 201);
}

/// Splits SSE text into its events, each with its terminating blank line.
export function sseEvents(text) {
  const out = [];
  const re = /[\s\S]*?(\r\n\r\n|\n\n|\r\r)/g;
  let m;
  let end = 0;
  while ((m = re.exec(text)) !== null) {
    out.push(m[0]);
    end = re.lastIndex;
  }
  if (end < text.length) out.push(text.slice(end));
  return out;
}

/// The JSON payloads of the `data:` lines of an SSE text (`[DONE]` as is).
export function sseData(text) {
  const out = [];
  for (const event of sseEvents(text)) {
    for (const line of event.split(/\r\n|\n|\r/)) {
      if (!line.startsWith('data:')) continue;
      const payload = line.slice(5).trimStart();
      out.push(payload === '[DONE]' ? payload : JSON.parse(payload));
    }
  }
  return out;
}

/// Sends a request with fetch and reads the answer as it arrives.
///
/// Resolves to {status, headers, raw (Buffer), text, chunks: [{at, bytes}],
/// events: [{at, text}], t0, aborted, error}. `at` is Date.now() at arrival.
/// o.key, o.body, o.raw, o.headers as for `request`; o.abortAfterEvents
/// aborts the request once that many complete events have arrived.
export async function streamRequest(baseUrl, p, o = {}) {
  const headers = { 'x-forwarded-for': o.ip || newIp() };
  if (o.key !== undefined) headers['x-gatehouse-key'] = o.key;
  let body;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  for (const [k, v] of Object.entries(o.headers || {})) headers[k.toLowerCase()] = v;
  const controller = new AbortController();
  const t0 = Date.now();
  const res = await fetch(baseUrl + p, { method: o.method || 'POST', headers, body, signal: controller.signal });
  const out = {
    status: res.status, headers: lowerHeaders(res.headers), t0, chunks: [], events: [], aborted: false, error: null,
  };
  const decoder = new TextDecoder();
  let pending = '';
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const at = Date.now();
      out.chunks.push({ at, bytes: Buffer.from(value) });
      pending += decoder.decode(value, { stream: true });
      const events = sseEvents(pending);
      const complete = /(\r\n\r\n|\n\n|\r\r)$/.test(pending) ? events : events.slice(0, -1);
      for (const text of complete) out.events.push({ at, text });
      pending = complete.length === events.length ? '' : events[events.length - 1];
      if (o.abortAfterEvents && out.events.length >= o.abortAfterEvents) {
        out.aborted = true;
        controller.abort();
        break;
      }
    }
  } catch (e) {
    if (!out.aborted) out.error = e;
  }
  out.raw = Buffer.concat(out.chunks.map((c) => c.bytes));
  out.text = out.raw.toString('utf8');
  return out;
}

/// GET /api/v1/logs with `query` (an object) for the session `s`.
export async function getLogs(server, s, query = {}) {
  const qs = new URLSearchParams(query).toString();
  return server.api('GET', `/api/v1/logs${qs ? `?${qs}` : ''}`, { token: s.token });
}

/// Waits (up to `timeoutMs`) for the log entry of the request that got the
/// X-Gatehouse-Request-Id `requestId` and returns it.
export async function waitForLog(server, s, requestId, { timeoutMs = 3000, query = {} } = {}) {
  assert.ok(requestId, 'no request id to look for');
  return poll(async () => {
    const { logs } = expectOk(await getLogs(server, s, { limit: 500, ...query }));
    return logs.find((l) => l.request_id === requestId);
  }, { timeoutMs, what: `the log entry of request ${requestId}` });
}

// ---------------------------------------------------------------------------
// Secret scanning

/// Variants under which a secret could be stored or logged.
export function secretForms(value) {
  const buf = Buffer.from(value, 'utf8');
  return [
    value,
    buf.toString('base64'),
    buf.toString('base64url'),
    encodeURIComponent(value),
  ].filter((v, i, all) => v.length >= 12 && all.indexOf(v) === i);
}

/// Fails when any needle occurs in `haystack`; `needles` maps a label to
/// the strings that must be absent.
export function assertAbsent(haystack, needles, where) {
  for (const [label, values] of Object.entries(needles)) {
    for (const v of values) {
      assert.ok(!haystack.includes(v), `${label} found in ${where}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Raw connections (for bytes node:http and fetch refuse to send)

/// Asserts the server answers GET /healthz with 200 on a fresh connection;
/// `after` names what was just done to it (for the failure message).
export async function assertHealthy(server, after = 'the last request') {
  const res = await rawExchange(server.url, buildRequest({ path: '/healthz' }), { timeoutMs: 5000 })
    .catch((e) => ({ status: 0, text: e.message }));
  if (res.status === 200) return;
  await sleep(100);
  const dead = server.alive && !server.alive();
  assert.fail(`/healthz answered ${res.status} (${res.text}) after ${after}` +
    (dead ? `; gatehouse died, stderr tail:\n${server.stderr().slice(-3000)}` : ''));
}

/// Opens a TCP connection to the server of `baseUrl`; resolves once it is
/// established. The socket keeps every byte it receives in `socket.received`
/// (an array of Buffers) and sets `socket.ended` / `socket.closedAt`.
export function connect(baseUrl) {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    socket.setNoDelay(true);
    socket.received = [];
    socket.ended = false;
    socket.closedAt = null;
    socket.on('data', (d) => socket.received.push(d));
    socket.on('end', () => { socket.ended = true; });
    socket.on('close', () => { socket.closedAt = Date.now(); });
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      // Later errors (a reset) show up as `closedAt`; they must not throw.
      socket.on('error', (e) => { socket.lastError = e; });
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/// The bytes of one HTTP/1.1 request. `headers` is an array of
/// [name, value] pairs (a value may be a Buffer, for raw bytes) or an object;
/// Host, Content-Length (when there is a body) and `Connection: close` are
/// added unless given. `body` is a string or a Buffer.
export function buildRequest({ method = 'GET', path: p = '/', headers = [], body, close = true } = {}) {
  const list = Array.isArray(headers) ? [...headers] : Object.entries(headers);
  const has = (name) => list.some(([k]) => k.toLowerCase() === name);
  if (!has('host')) list.unshift(['Host', '127.0.0.1']);
  const payload = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  if (payload && !has('content-length') && !has('transfer-encoding')) {
    list.push(['Content-Length', String(payload.length)]);
  }
  if (close && !has('connection')) list.push(['Connection', 'close']);
  const parts = [Buffer.from(`${method} ${p} HTTP/1.1\r\n`, 'latin1')];
  for (const [k, v] of list) {
    parts.push(Buffer.from(`${k}: `, 'latin1'), Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'),
      Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('\r\n', 'latin1'));
  if (payload) parts.push(payload);
  return Buffer.concat(parts);
}

/// Parses the first HTTP/1.1 response in `buf`; null while it is
/// incomplete. `head` true: a response to HEAD (no body). `eof` true: the
/// connection has ended, so a body without a length ends here.
export function parseResponse(buf, { head = false, eof = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers = {};
  const rawHeaders = [];
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    rawHeaders.push([name, value]);
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const status = Number(m[1]);
  let body = Buffer.alloc(0);
  let rest = buf.subarray(end + 4);
  if (!head && status !== 204 && status !== 304 && !(status >= 100 && status < 200)) {
    if (/chunked/i.test(headers['transfer-encoding'] || '')) {
      const chunks = [];
      let off = 0;
      for (;;) {
        const eol = rest.indexOf('\r\n', off);
        if (eol < 0) return null;
        const size = Number.parseInt(rest.subarray(off, eol).toString('latin1'), 16);
        if (size === 0) {
          const fin = rest.indexOf('\r\n', eol + 2);
          if (fin < 0) return null;
          rest = rest.subarray(fin + 2);
          break;
        }
        if (rest.length < eol + 2 + size + 2) return null;
        chunks.push(rest.subarray(eol + 2, eol + 2 + size));
        off = eol + 2 + size + 2;
      }
      body = Buffer.concat(chunks);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (rest.length < n) return null;
      body = rest.subarray(0, n);
      rest = rest.subarray(n);
    } else {
      if (!eof) return null;
      body = rest;
      rest = Buffer.alloc(0);
    }
  }
  const text = body.toString('utf8');
  let json = null;
  try {
    json = text.length ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status, headers, rawHeaders, body, text, json, rest };
}

/// Reads one response from a socket made by `connect`. Resolves to the
/// parsed response (see parseResponse) plus `closed` (whether the server
/// closed the connection by then) and `ms` (time to the answer); rejects
/// when the connection closes without a complete answer or after
/// `timeoutMs`.
export function readResponse(socket, { timeoutMs = 5000, head = false } = {}) {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    let timer;
    const check = () => {
      const buf = Buffer.concat(socket.received);
      let res;
      try {
        res = parseResponse(buf, { head, eof: socket.closedAt !== null || socket.ended });
      } catch (e) {
        return finish(e);
      }
      if (res) return finish(null, { ...res, closed: socket.closedAt !== null || socket.ended, ms: Date.now() - t0 });
      if (socket.closedAt !== null || socket.ended) {
        const err = new Error(`connection closed after ${buf.length} bytes without a complete answer` +
          (socket.lastError ? ` (${socket.lastError.code})` : '') +
          `: ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`);
        err.received = buf;
        return finish(err);
      }
      return undefined;
    };
    const finish = (err, res) => {
      clearTimeout(timer);
      socket.off('data', check);
      socket.off('end', check);
      socket.off('close', check);
      if (err) reject(err);
      else resolve(res);
    };
    timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms ` +
      `(${Buffer.concat(socket.received).length} bytes so far)`)), timeoutMs);
    socket.on('data', check);
    socket.on('end', check);
    socket.on('close', check);
    check();
  });
}

/// Resolves once the server has closed `socket` (or it was closed); rejects
/// after `timeoutMs`.
export function waitClosed(socket, timeoutMs = 5000) {
  if (socket.closedAt !== null || socket.ended) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the connection stayed open for ${timeoutMs} ms`)), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.once('end', done);
    socket.once('close', done);
  });
}

/// Sends `bytes` on a new connection and reads one answer (see
/// readResponse). The socket is destroyed afterwards.
export async function rawExchange(baseUrl, bytes, { timeoutMs = 5000, head = false } = {}) {
  const socket = await connect(baseUrl);
  try {
    socket.write(bytes);
    return await readResponse(socket, { timeoutMs, head });
  } finally {
    socket.destroy();
  }
}

/// Waits (up to `timeoutMs`) for the log entries of session id `sessionId`
/// until `count` are there, and returns them (newest first).
export async function waitForSessionLogs(server, s, sessionId, { count = 1, timeoutMs = 3000 } = {}) {
  return poll(async () => {
    const { logs } = expectOk(await getLogs(server, s, { limit: 500, session_id: sessionId }));
    return logs.length >= count ? logs : null;
  }, { timeoutMs, what: `${count} log entries of session ${sessionId}` });
}

/// A node the tests of a file share: `get()` resolves to {gh, ...setup(gh)}
/// and replaces the node with a new one (set up again) when it no longer
/// answers /healthz — so that a test whose request killed or hung the node
/// fails on its own health check without failing every later test.
/// `dispose()` stops every node started and resolves to the exit code of
/// the last one (null when it had died).
export function sharedNode(opts, setup = async () => ({})) {
  let current = null;
  const retired = [];
  async function get() {
    if (current && current.gh.alive()) {
      const res = await rawExchange(current.gh.url, buildRequest({ path: '/healthz' }), { timeoutMs: 2000 })
        .catch(() => null);
      if (res?.status === 200) return current;
    }
    if (current) retired.push(current.gh);
    const gh = await startGatehouse(opts);
    current = { gh, ...(await setup(gh)) };
    return current;
  }
  get.dispose = async () => {
    for (const gh of retired) await gh.dispose();
    if (!current) return undefined;
    const alive = current.gh.alive();
    const { code } = await current.gh.dispose();
    return alive ? code : null;
  };
  return get;
}
