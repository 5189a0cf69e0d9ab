// A fake LLM provider for the data-plane tests: speaks enough of the OpenAI
// and Anthropic HTTP APIs, records every request it gets and every byte it
// sends, and misbehaves on request.
//
// Paths may carry a label prefix, `/p/<label>/v1/...`: providers created with
// base URL `<mock>/p/<name>` let a test see which provider a request went to.
//
// Control headers (all optional):
//   x-mock-status          answer this status with an error JSON body
//   x-mock-delay-ms        wait this long before the response head
//   x-mock-chunks          number of streamed content events (default 3)
//   x-mock-chunk-delay-ms  pause between streamed events (default 0)
//   x-mock-split           `1`: write every SSE event in 3-byte pieces
//   x-mock-usage           `IN,OUT`: the token counts to report
//
// Each request is recorded as {id, at, method, url (as received), label,
// path (without label and query), query, headers, rawHeaders, body (Buffer),
// text, json, status, sentChunks, writes [{at, bytes}], usageEvent (the
// usage-only SSE event it sent, if any), finished, closed}; `sent(record)`
// is everything written for it. A close is recorded per request with
// `finished` false when the connection went away before the answer ended.

import http from 'node:http';

const OPENAI_USAGE = [10, 20];
const ANTHROPIC_USAGE = [12, 34];

export const DEFAULT_MODELS = Object.freeze([
  { id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'mock' },
  { id: 'gpt-4o', object: 'model', created: 1715367049, owned_by: 'mock' },
  { id: 'text-embedding-3-small', object: 'model', created: 1705948997, owned_by: 'mock' },
]);

/// The text of streamed content event `i` (also used to check relayed text).
export function chunkText(i) {
  return `lorem ipsum ${i} `;
}

/// The whole text a stream of `n` content events carries.
export function streamText(n) {
  return Array.from({ length: n }, (_, i) => chunkText(i)).join('');
}

/// The text of a non-streaming chat answer.
export const REPLY_TEXT = 'Hello from the mock upstream.';

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function intHeader(req, name, fallback) {
  const v = req.headers[name];
  if (v === undefined) return fallback;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : fallback;
}

function usageOf(req, fallback) {
  const v = req.headers['x-mock-usage'];
  if (!v) return fallback;
  const [a, b] = v.split(',').map((x) => Number.parseInt(x, 10));
  return [a, b];
}

/// Starts the mock. `opts.models` maps a label to the model list its
/// `/v1/models` answers (default: DEFAULT_MODELS).
export async function startMockUpstream(opts = {}) {
  const requests = [];
  const closes = [];
  const closeWaiters = [];
  const sockets = new Set();
  let seq = 0;

  function noteClose(record) {
    const entry = { request: record, finished: record.finished, at: Date.now() };
    closes.push(entry);
    for (const w of [...closeWaiters]) {
      if (w.predicate(entry)) {
        closeWaiters.splice(closeWaiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(entry);
      }
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = req.url;
      const m = /^\/p\/([^/?]+)(\/[^?]*)?(\?.*)?$/.exec(url);
      const label = m ? m[1] : null;
      const pathOnly = m ? m[2] || '/' : url.split('?')[0];
      const query = m ? m[3] || '' : url.includes('?') ? url.slice(url.indexOf('?')) : '';
      let json;
      try {
        json = body.length ? JSON.parse(body.toString('utf8')) : undefined;
      } catch {
        json = undefined;
      }
      const record = {
        id: ++seq,
        at: Date.now(),
        method: req.method,
        url,
        label,
        path: pathOnly,
        query,
        headers: { ...req.headers },
        rawHeaders: [...req.rawHeaders],
        body,
        text: body.toString('utf8'),
        json,
        status: null,
        sentChunks: [],
        writes: [],
        usageEvent: null,
        finished: false,
        closed: false,
      };
      requests.push(record);
      res.on('close', () => {
        record.closed = true;
        record.finished = res.writableFinished;
        noteClose(record);
      });
      answer(req, res, record).catch(() => res.destroy());
    });
  });

  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function send(res, record, data) {
    if (res.destroyed || res.writableEnded) return false;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    record.sentChunks.push(buf);
    record.writes.push({ at: Date.now(), bytes: buf.length });
    res.write(buf);
    return true;
  }

  async function sendEvent(res, record, text, split) {
    if (!split) return send(res, record, text);
    const buf = Buffer.from(text, 'utf8');
    for (let i = 0; i < buf.length; i += 3) {
      if (!send(res, record, buf.subarray(i, i + 3))) return false;
      await sleep(1);
    }
    return true;
  }

  function head(res, record, status, headers) {
    record.status = status;
    res.writeHead(status, { 'x-mock-request': String(record.id), ...headers });
  }

  function json(res, record, status, value, headers = {}) {
    const text = JSON.stringify(value);
    head(res, record, status, { 'content-type': 'application/json', ...headers });
    send(res, record, text);
    res.end();
  }

  async function answer(req, res, record) {
    const delay = intHeader(req, 'x-mock-delay-ms', 0);
    if (delay > 0) {
      await sleep(delay);
      if (res.destroyed) return;
    }
    const forced = intHeader(req, 'x-mock-status', 0);
    if (forced >= 400) {
      json(res, record, forced, {
        error: { message: `mock failure ${forced}`, type: 'mock_error', param: null, code: `mock_${forced}` },
      });
      return;
    }
    const route = `${req.method} ${record.path}`;
    if (route === 'POST /v1/chat/completions') return chat(req, res, record);
    if (route === 'POST /v1/messages') return messages(req, res, record);
    if (route === 'POST /v1/embeddings') return embeddings(req, res, record);
    if (route === 'GET /v1/models') {
      const data = (opts.models && record.label && opts.models[record.label]) || DEFAULT_MODELS;
      return json(res, record, 200, { object: 'list', data });
    }
    json(res, record, 404, {
      error: { message: `mock has no route ${route}`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
    });
  }

  function badBody(res, record) {
    json(res, record, 400, {
      error: { message: 'mock could not parse the JSON body', type: 'invalid_request_error', param: null, code: null },
    });
  }

  async function chat(req, res, record) {
    const body = record.json;
    if (!body || typeof body !== 'object') return badBody(res, record);
    const model = String(body.model ?? 'unknown');
    const [pin, pout] = usageOf(req, OPENAI_USAGE);
    const usage = { prompt_tokens: pin, completion_tokens: pout, total_tokens: pin + pout };
    const id = `chatcmpl-mock-${record.id}`;
    const created = Math.floor(record.at / 1000);
    if (body.stream !== true) {
      return json(res, record, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: REPLY_TEXT }, logprobs: null, finish_reason: 'stop' }],
        usage,
        system_fingerprint: 'fp_mock',
      }, { 'openai-processing-ms': '7', 'x-mock-kind': 'chat' });
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const n = intHeader(req, 'x-mock-chunks', 3);
    const gap = intHeader(req, 'x-mock-chunk-delay-ms', 0);
    const split = req.headers['x-mock-split'] === '1';
    head(res, record, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-mock-kind': 'chat-stream' });
    res.flushHeaders();
    const extra = includeUsage ? { usage: null } : {};
    for (let i = 0; i < n; i++) {
      if (i > 0 && gap > 0) await sleep(gap);
      const delta = i === 0 ? { role: 'assistant', content: chunkText(i) } : { content: chunkText(i) };
      const chunk = {
        id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: i === n - 1 ? 'stop' : null }],
        ...extra,
      };
      if (!(await sendEvent(res, record, `data: ${JSON.stringify(chunk)}\n\n`, split))) return;
      if (i === 0 && !(await sendEvent(res, record, ': ping\n\n', split))) return;
    }
    if (includeUsage) {
      const event = `data: ${JSON.stringify({
        id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock', choices: [], usage,
      })}\n\n`;
      record.usageEvent = event;
      if (!(await sendEvent(res, record, event, split))) return;
    }
    if (!(await sendEvent(res, record, 'data: [DONE]\n\n', split))) return;
    res.end();
  }

  async function messages(req, res, record) {
    const body = record.json;
    if (!body || typeof body !== 'object') return badBody(res, record);
    const model = String(body.model ?? 'unknown');
    const [pin, pout] = usageOf(req, ANTHROPIC_USAGE);
    const id = `msg_mock_${record.id}`;
    if (body.stream !== true) {
      return json(res, record, 200, {
        id, type: 'message', role: 'assistant', model,
        content: [{ type: 'text', text: REPLY_TEXT }],
        stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: pin, output_tokens: pout },
      }, { 'request-id': `req_mock_${record.id}`, 'x-mock-kind': 'messages' });
    }
    const n = intHeader(req, 'x-mock-chunks', 3);
    const gap = intHeader(req, 'x-mock-chunk-delay-ms', 0);
    const split = req.headers['x-mock-split'] === '1';
    head(res, record, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-mock-kind': 'messages-stream' });
    res.flushHeaders();
    const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    const events = [
      ev('message_start', {
        type: 'message_start',
        message: {
          id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
          usage: { input_tokens: pin, output_tokens: 1 },
        },
      }),
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      ev('ping', { type: 'ping' }),
      ...Array.from({ length: n }, (_, i) => ev('content_block_delta', {
        type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: chunkText(i) },
      })),
      ev('content_block_stop', { type: 'content_block_stop', index: 0 }),
      ev('message_delta', {
        type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: pout },
      }),
      ev('message_stop', { type: 'message_stop' }),
    ];
    for (let i = 0; i < events.length; i++) {
      if (i > 0 && gap > 0) await sleep(gap);
      if (!(await sendEvent(res, record, events[i], split))) return;
    }
    res.end();
  }

  function embeddings(req, res, record) {
    const body = record.json;
    if (!body || typeof body !== 'object') return badBody(res, record);
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const [pin] = usageOf(req, [8, 0]);
    const vector = [0.1, -0.2, 0.3];
    // The OpenAI SDK asks for base64 (little-endian float32) and decodes it.
    const embedding = body.encoding_format === 'base64'
      ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
      : vector;
    return json(res, record, 200, {
      object: 'list',
      data: inputs.map((_, i) => ({ object: 'embedding', index: i, embedding })),
      model: String(body.model ?? 'unknown'),
      usage: { prompt_tokens: pin, total_tokens: pin },
    });
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    closes,
    /// The most recent request, optionally the most recent one matching.
    lastRequest(predicate = () => true) {
      for (let i = requests.length - 1; i >= 0; i--) if (predicate(requests[i])) return requests[i];
      return undefined;
    },
    /// Everything sent for `record` so far, as one Buffer.
    sent(record) {
      return Buffer.concat(record.sentChunks);
    },
    /// Resolves with the first close (past or future) matching `predicate`;
    /// rejects after `ms`.
    waitForClose(predicate, ms = 2000) {
      const seen = closes.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { predicate, resolve };
        w.timer = setTimeout(() => {
          closeWaiters.splice(closeWaiters.indexOf(w), 1);
          reject(new Error(`no matching upstream connection close within ${ms} ms`));
        }, ms);
        closeWaiters.push(w);
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/// A URL on 127.0.0.1 where nothing listens (a port just released).
export async function closedPortUrl() {
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}
