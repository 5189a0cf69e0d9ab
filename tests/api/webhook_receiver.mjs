// A receiver of webhook deliveries on 127.0.0.1, and the Standard Webhooks
// signature check, for the black-box and the console tests.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

/// Records each POST by the label in its path (/hook/<label>) and answers
/// with the statuses queued for the label (200 once they run out).
export async function startReceiver(port = 0) {
  const byLabel = new Map();
  const statuses = new Map();
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const label = (/^\/hook\/([^/?]+)/.exec(req.url) || [])[1] || '';
      const body = Buffer.concat(chunks).toString('utf8');
      let json;
      try { json = JSON.parse(body); } catch { json = undefined; }
      if (!byLabel.has(label)) byLabel.set(label, []);
      byLabel.get(label).push({ method: req.method, headers: req.headers, body, json, at: Date.now() });
      const queue = statuses.get(label) || [];
      const status = queue.length ? queue.shift() : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'no');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = server.address().port;
  return {
    port: bound,
    url: (label) => `http://127.0.0.1:${bound}/hook/${label}`,
    of: (label) => byLabel.get(label) || [],
    answer: (label, ...codes) => statuses.set(label, codes),
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(resolve);
    }),
  };
}

/// Checks a delivery's Standard Webhooks headers against `secret`: the
/// signature is HMAC-SHA256 over "<id>.<timestamp>.<body>" keyed with the
/// secret's decoded bytes.
export function assertSigned(rec, secret) {
  const id = rec.headers['webhook-id'];
  const ts = rec.headers['webhook-timestamp'];
  const sig = rec.headers['webhook-signature'];
  assert.ok(id && ts && sig, `Standard Webhooks headers: ${JSON.stringify(rec.headers)}`);
  assert.match(ts, /^\d+$/);
  assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 300, 'timestamp is now');
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = crypto.createHmac('sha256', key).update(`${id}.${ts}.${rec.body}`).digest('base64');
  assert.equal(sig, `v1,${expected}`, 'the signature verifies with the secret');
  assert.equal(rec.json.id, id);
}
