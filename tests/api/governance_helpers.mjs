// Shared pieces of the governance tests (members, roles, teams and budgets,
// apps, plans, audit, metrics, isolation): a small OpenAI-style upstream
// whose usage and status each test controls, and helpers to act as the
// members of an organization.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';

import { expectError, expectOk, hex, setPlan, signup } from './harness.mjs';

// ---------------------------------------------------------------------------
// Upstream

/// Starts an upstream that answers `POST [/p/<label>]/v1/chat/completions`
/// with an OpenAI chat completion. What it answers is decided, first to
/// last, by the request headers
///   x-tiny-status              answer this status with an OpenAI error body
///   x-tiny-delay-ms            wait before answering
///   x-tiny-prompt-tokens       usage.prompt_tokens (default 3)
///   x-tiny-completion-tokens   usage.completion_tokens (default 5)
/// then by what `configure(label, {status, delayMs, promptTokens,
/// completionTokens})` set for the label of the path. Every request is
/// recorded as {label, method, path, headers, json, at}.
export async function startTinyUpstream() {
  const requests = [];
  const byLabel = new Map();
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', async () => {
      const m = /^\/p\/([^/?]+)(\/[^?]*)?/.exec(req.url);
      const label = m ? m[1] : null;
      const path = m ? m[2] || '/' : req.url.split('?')[0];
      let json;
      try {
        json = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        json = undefined;
      }
      requests.push({ label, method: req.method, path, headers: { ...req.headers }, json, at: Date.now() });
      const cfg = byLabel.get(label) || {};
      const num = (name, fallback) => {
        const v = req.headers[name];
        if (v === undefined) return fallback;
        const n = Number.parseInt(v, 10);
        return Number.isFinite(n) ? n : fallback;
      };
      const delay = num('x-tiny-delay-ms', cfg.delayMs ?? 0);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (res.destroyed) return;
      const reply = (status, body) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      const status = num('x-tiny-status', cfg.status ?? 200);
      if (status >= 400) {
        reply(status, { error: { message: `upstream says ${status}`, type: 'upstream_test_error', code: `e${status}` } });
        return;
      }
      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        reply(404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error', code: null } });
        return;
      }
      const promptTokens = num('x-tiny-prompt-tokens', cfg.promptTokens ?? 3);
      const completionTokens = num('x-tiny-completion-tokens', cfg.completionTokens ?? 5);
      reply(200, {
        id: `chatcmpl-tiny-${requests.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: String(json?.model ?? 'unknown'),
        choices: [{ index: 0, message: { role: 'assistant', content: `answer from ${label ?? 'upstream'}` },
          finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens },
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    requests,
    /// Base URL of the provider named `label`.
    base(label) {
      return `${url}/p/${label}`;
    },
    configure(label, cfg) {
      if (cfg === null) byLabel.delete(label);
      else byLabel.set(label, { ...cfg });
    },
    /// The requests that reached `label`.
    of(label) {
      return requests.filter((r) => r.label === label);
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/// A base URL on 127.0.0.1 where nothing listens.
export async function deadUpstreamUrl() {
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/// A chat completion body; `maxTokens` adds `max_tokens`.
export function chatBody({ model = 'gpt-4o-mini', content = 'hi', maxTokens } = {}) {
  const body = { model, messages: [{ role: 'user', content }] };
  if (maxTokens !== undefined) body.max_tokens = maxTokens;
  return body;
}

/// One proxied chat completion with `key`; `headers` may select the
/// provider and steer the upstream.
export function proxyChat(gh, key, { headers = {}, ...body } = {}) {
  return gh.api('POST', '/v1/chat/completions', { key, headers, body: chatBody(body) });
}

// ---------------------------------------------------------------------------
// Acting as a member

/// Calls of the management API as the session `s`.
export function as(gh, s) {
  const call = (method) => (p, body, o = {}) => gh.api(method, p, { token: s.token, body, ...o });
  return { get: call('GET'), post: call('POST'), put: call('PUT'), del: call('DELETE') };
}

/// Signs an org up and moves it to the enterprise plan.
export async function enterpriseOrg(gh, overrides = {}) {
  const s = await signup(gh, overrides);
  await setPlan(gh, s.org.id, 'enterprise');
  return s;
}

/// A fresh, unused email address.
export function newEmail(tag = 'member') {
  return `${tag}-${hex(5)}@example.com`;
}

/// Invites `email` (default: a fresh one) into the org of `admin` (201
/// asserted); returns the answer plus the email.
export async function invite(gh, admin, body = {}) {
  const email = body.email ?? newEmail(body.role ?? 'member');
  const res = await gh.api('POST', '/api/v1/users/invite', { token: admin.token, body: { ...body, email } });
  return { ...expectOk(res, 201), email };
}

/// Accepts an invitation as a new account (200 asserted).
export async function accept(gh, inviteToken, { password = `pw-${hex(8)}`, display_name = `Person ${hex(3)}` } = {}) {
  const res = await gh.api('POST', '/api/v1/invites/accept', {
    body: { invite_token: inviteToken, password, display_name },
  });
  return { ...expectOk(res), password, display_name };
}

/// Invites a new person with `role` (and `team_id`) into the org of
/// `admin` and accepts; returns a session-like object {id, email, password,
/// token, org, user, role}.
export async function join(gh, admin, role = 'member', extra = {}) {
  const inv = await invite(gh, admin, { role, ...extra });
  const acc = await accept(gh, inv.invite_token);
  return {
    id: inv.user.id, email: inv.email, password: acc.password, token: acc.token, org: acc.org, user: acc.user, role,
  };
}

/// GET /api/v1/users (200 asserted) with `query`.
export async function listUsers(gh, s, query = {}) {
  const qs = new URLSearchParams(query).toString();
  return expectOk(await gh.api('GET', `/api/v1/users${qs ? `?${qs}` : ''}`, { token: s.token }));
}

/// The member `id` as listed for `s` (undefined when absent).
export async function memberOf(gh, s, id) {
  return (await listUsers(gh, s)).users.find((u) => u.id === id);
}

export function expectForbidden(res) {
  return expectError(res, 403, 'forbidden');
}

// ---------------------------------------------------------------------------
// Money and time

/// Compares USD amounts (floats carrying whole micro-dollars).
export function assertUsd(actual, expected, what = 'amount') {
  assert.equal(typeof actual, 'number', `${what} is ${JSON.stringify(actual)}`);
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual}, expected ${expected}`);
}

export function sumUsd(values) {
  return values.reduce((a, b) => a + b, 0);
}

/// Seconds from now to the start of the next UTC month.
export function secondsToNextUtcMonth(now = new Date()) {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return (next - now.getTime()) / 1000;
}

/// Asserts a 429 budget_exceeded with Retry-After pointing at the next UTC
/// month.
export function expectBudgetExceeded(res) {
  expectError(res, 429, 'budget_exceeded');
  const ra = res.headers['retry-after'];
  assert.match(String(ra), /^\d+$/, `Retry-After ${ra}`);
  const expected = secondsToNextUtcMonth();
  assert.ok(Math.abs(Number(ra) - expected) <= 10, `Retry-After ${ra}, expected about ${Math.round(expected)}`);
}

// ---------------------------------------------------------------------------
// Audit

/// Every audit entry of the org of `s` matching `query`, page by page.
export async function allAudit(gh, s, query = {}, pageSize = 100) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 1000; page++) {
    const qs = new URLSearchParams({ ...query, limit: String(pageSize), ...(cursor ? { cursor } : {}) });
    const json = expectOk(await gh.api('GET', `/api/v1/audit?${qs}`, { token: s.token }));
    out.push(...json.entries);
    if (json.next_cursor === null) return out;
    assert.equal(typeof json.next_cursor, 'string');
    cursor = json.next_cursor;
  }
  throw new Error('the audit log did not end');
}

// ---------------------------------------------------------------------------
// Prometheus

export const PROMTOOL = '/usr/bin/promtool';

/// Runs `promtool check metrics` on `text`; fails when promtool is missing.
export function promtoolCheck(text) {
  assert.ok(fs.existsSync(PROMTOOL), `${PROMTOOL} is missing: install the prometheus package`);
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.once('error', reject);
    child.once('close', (code) => resolve({
      code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
    }));
    child.stdin.end(text);
  });
}

/// The samples of a Prometheus text: [{name, labels, value}].
export function promSamples(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/// The sum of the samples named `name`.
export function promSum(text, name) {
  return promSamples(text).filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}
