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
//   x-mock-gzip            `1`: gzip the answer (whole or streamed) when the
//                          request's Accept-Encoding allows gzip
//   x-mock-fault           one misbehaviour (below); a provider label can
//                          carry one for every request too, see `faults`
//   x-mock-size            bytes of padding for `huge-json` (default 20 MB)
//   x-mock-depth           nesting for `deep-json` (default 10000)
//   x-mock-trickle-ms      pause per byte for `trickle` (default 10)
//   x-mock-close-after     content events before `close-mid-stream`
//                          (default 2)
//
// Faults (x-mock-fault):
//   never-answer      reads the request and never answers (until the
//                     connection goes away)
//   trickle           sends the head at once, then the body one byte at a
//                     time, x-mock-trickle-ms apart (streams too)
//   close-mid-body    announces the whole Content-Length, sends half of the
//                     body, then drops the connection
//   close-mid-stream  streams x-mock-close-after content events, then drops
//                     the connection (no [DONE], no usage)
//   invalid-http      answers bytes that are not HTTP, then closes
//   gzip-always       gzips the answer whatever Accept-Encoding says
//   endless-sse-line  streams one content event, then one `data:` line that
//                     never ends (16 KiB writes as fast as they are read);
//                     after 256 MiB or x-mock-endless-ms (default 10000) it
//                     drops the connection
//   huge-json         a whole answer padded to x-mock-size bytes, its usage
//                     at the very end
//   deep-json         a whole answer (also of /v1/models) with a field
//                     nested x-mock-depth arrays deep; a stream gets one
//                     extra event of that kind after its first event
//
// A HEAD request to any path answers 200 with `content-length: 1234` and no
// body (as a HEAD answer should).
//
// Each request is recorded as {id, at, method, url (as received), label,
// path (without label and query), query, headers, rawHeaders, body (Buffer),
// text, json, status, sentChunks, writes [{at, bytes}], usageEvent (the
// usage-only SSE event it sent, if any), finished, closed}; `sent(record)`
// is everything written for it. A close is recorded per request with
// `finished` false when the connection went away before the answer ended.
// A gzipped answer also has `gzipped` true and `plainChunks` (what was
// written before compression; `plain(record)` joins them); `sentBytes`
// counts every byte sent (also for the endless line, whose bytes are not
// kept).

import http from 'node:http';
import zlib from 'node:zlib';

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

/// Whether an Accept-Encoding value lets the answer be gzipped.
function acceptsGzip(value) {
  if (!value) return false;
  return String(value).split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';').map((x) => x.trim());
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.find((x) => x.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  });
}

const FAULTS = new Set([
  'never-answer', 'trickle', 'close-mid-body', 'close-mid-stream', 'invalid-http', 'gzip-always',
  'endless-sse-line', 'huge-json', 'deep-json',
]);

function usageOf(req, fallback) {
  const v = req.headers['x-mock-usage'];
  if (!v) return fallback;
  const [a, b] = v.split(',').map((x) => Number.parseInt(x, 10));
  return [a, b];
}

/// Starts the mock. `opts.models` maps a label to the model list its
/// `/v1/models` answers (default: DEFAULT_MODELS); `opts.faults` maps a
/// label to a fault applied to each of its requests without x-mock-fault
/// (also changeable later through the returned `faults`).
export async function startMockUpstream(opts = {}) {
  const faults = { ...(opts.faults || {}) };
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
        fault: req.headers['x-mock-fault'] || (label && faults[label]) || null,
        gzipped: false,
        plainChunks: [],
        sentBytes: 0,
      };
      // Not enumerable, so that a failing assertion does not print them.
      Object.defineProperty(record, 'req', { value: req, writable: true });
      Object.defineProperty(record, 'gzip', { value: null, writable: true });
      record.gzipped = record.fault === 'gzip-always'
        || (req.headers['x-mock-gzip'] === '1' && acceptsGzip(req.headers['accept-encoding']));
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

  /// Writes bytes as they go on the wire (already compressed, if so).
  function wire(res, record, buf, keep = true) {
    if (keep) record.sentChunks.push(buf);
    record.sentBytes += buf.length;
    record.writes.push({ at: Date.now(), bytes: buf.length });
    return res.write(buf);
  }

  function send(res, record, data) {
    if (res.destroyed || res.writableEnded) return false;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    if (!record.gzip) {
      wire(res, record, buf);
      return true;
    }
    // Each piece is flushed, so that a compressed stream still arrives
    // event by event.
    record.plainChunks.push(buf);
    record.gzip.write(buf);
    record.gzip.flush(zlib.constants.Z_SYNC_FLUSH);
    return true;
  }

  /// Ends the answer (after the compressor, if any, has emptied).
  function finish(res, record) {
    if (!record.gzip) {
      res.end();
      return;
    }
    record.gzip.end();
  }

  /// Drops the connection under an answer in progress.
  function drop(res) {
    res.socket?.destroy();
    res.destroy();
  }

  async function sendEvent(res, record, text, split) {
    const piece = record.fault === 'trickle' ? 1 : split ? 3 : 0;
    if (!piece) return send(res, record, text);
    const pause = record.fault === 'trickle' ? record.trickleMs : 1;
    const buf = Buffer.from(text, 'utf8');
    for (let i = 0; i < buf.length; i += piece) {
      if (!send(res, record, buf.subarray(i, i + piece))) return false;
      await sleep(pause);
    }
    return true;
  }

  function head(res, record, status, headers) {
    record.status = status;
    const all = { 'x-mock-request': String(record.id), ...headers };
    if (record.gzipped) {
      all['content-encoding'] = 'gzip';
      delete all['content-length'];
      record.gzip = zlib.createGzip();
      record.gzip.on('data', (d) => {
        if (!res.destroyed) wire(res, record, d);
      });
      record.gzip.on('end', () => res.end());
    }
    res.writeHead(status, all);
  }

  /// The text of a whole JSON answer, grown by the huge-json or deep-json
  /// fault.
  function answerText(req, record, value) {
    if (record.fault === 'huge-json' && value && typeof value === 'object' && !Array.isArray(value)) {
      const size = intHeader(req, 'x-mock-size', 20_000_000);
      const { usage, ...rest } = value;
      const padded = { ...rest, padding: 'x'.repeat(size) };
      if (usage) padded.usage = usage;
      return JSON.stringify(padded);
    }
    const text = JSON.stringify(value);
    if (record.fault === 'deep-json' && text.startsWith('{')) {
      const depth = intHeader(req, 'x-mock-depth', 10_000);
      return `{"deep":${'['.repeat(depth)}${']'.repeat(depth)},${text.slice(1)}`;
    }
    return text;
  }

  async function json(res, record, status, value, headers = {}) {
    const req = record.req;
    const text = answerText(req, record, value);
    const buf = Buffer.from(text, 'utf8');
    const sized = { 'content-type': 'application/json', 'content-length': String(buf.length), ...headers };
    if (record.fault === 'close-mid-body') {
      head(res, record, status, sized);
      wire(res, record, buf.subarray(0, buf.length >> 1));
      await sleep(50);
      drop(res);
      return;
    }
    if (record.fault === 'trickle' && !record.gzipped) {
      head(res, record, status, sized);
      res.flushHeaders();
      for (let i = 0; i < buf.length; i++) {
        if (res.destroyed) return;
        wire(res, record, buf.subarray(i, i + 1));
        await sleep(record.trickleMs);
      }
      res.end();
      return;
    }
    head(res, record, status, { 'content-type': 'application/json', ...headers });
    if (record.gzipped) {
      record.plainChunks.push(buf);
      record.gzip.end(buf);
      return;
    }
    send(res, record, buf);
    res.end();
  }

  async function answer(req, res, record) {
    if (record.fault && !FAULTS.has(record.fault)) {
      return json(res, record, 500, { error: { message: `unknown mock fault '${record.fault}'`, type: 'mock_error' } });
    }
    record.trickleMs = intHeader(req, 'x-mock-trickle-ms', 10);
    const delay = intHeader(req, 'x-mock-delay-ms', 0);
    if (delay > 0) {
      await sleep(delay);
      if (res.destroyed) return;
    }
    if (record.fault === 'never-answer') return;
    if (record.fault === 'invalid-http') {
      record.status = 0;
      const junk = Buffer.from('HTTP/1.1 2OO Okay?\r\nContent-Length: banana\r\n\0\r\n\r\n{"not": "http"}');
      record.sentChunks.push(junk);
      record.sentBytes += junk.length;
      res.socket.end(junk);
      return;
    }
    if (req.method === 'HEAD') {
      head(res, record, 200, { 'content-type': 'application/json', 'content-length': '1234' });
      res.end();
      return;
    }
    const forced = intHeader(req, 'x-mock-status', 0);
    if (forced >= 400) {
      return json(res, record, forced, {
        error: { message: `mock failure ${forced}`, type: 'mock_error', param: null, code: `mock_${forced}` },
      });
    }
    const route = `${req.method} ${record.path}`;
    if (route === 'POST /v1/chat/completions') return chat(req, res, record);
    if (route === 'POST /v1/messages') return messages(req, res, record);
    if (route === 'POST /v1/embeddings') return embeddings(req, res, record);
    if (route === 'GET /v1/models') {
      const data = (opts.models && record.label && opts.models[record.label]) || DEFAULT_MODELS;
      return json(res, record, 200, { object: 'list', data });
    }
    return json(res, record, 404, {
      error: { message: `mock has no route ${route}`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
    });
  }

  function badBody(res, record) {
    return json(res, record, 400, {
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
    const closeAfter = record.fault === 'close-mid-stream' ? intHeader(req, 'x-mock-close-after', 2) : -1;
    for (let i = 0; i < n; i++) {
      if (i === closeAfter) {
        await sleep(50);
        return drop(res);
      }
      if (i > 0 && gap > 0) await sleep(gap);
      const delta = i === 0 ? { role: 'assistant', content: chunkText(i) } : { content: chunkText(i) };
      const chunk = {
        id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: i === n - 1 ? 'stop' : null }],
        ...extra,
      };
      if (!(await sendEvent(res, record, `data: ${JSON.stringify(chunk)}\n\n`, split))) return;
      if (i === 0 && !(await sendEvent(res, record, ': ping\n\n', split))) return;
      if (i === 0 && record.fault === 'endless-sse-line') return endlessLine(res, record);
      if (i === 0 && record.fault === 'deep-json') {
        const depth = intHeader(req, 'x-mock-depth', 10_000);
        const event = `data: {"deep":${'['.repeat(depth)}${']'.repeat(depth)}}\n\n`;
        if (!(await sendEvent(res, record, event, split))) return;
      }
    }
    if (includeUsage) {
      const event = `data: ${JSON.stringify({
        id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock', choices: [], usage,
      })}\n\n`;
      record.usageEvent = event;
      if (!(await sendEvent(res, record, event, split))) return;
    }
    if (!(await sendEvent(res, record, 'data: [DONE]\n\n', split))) return;
    finish(res, record);
  }

  /// One `data:` line that never ends, written as fast as it is read.
  async function endlessLine(res, record) {
    const piece = Buffer.alloc(16 * 1024, 0x78);
    wire(res, record, Buffer.from('data: {"choices":[{"delta":{"content":"'), false);
    const cap = 256 * 1024 * 1024;
    const until = Date.now() + intHeader(record.req, 'x-mock-endless-ms', 10_000);
    let wake = null;
    const resume = () => wake?.();
    const timer = setTimeout(resume, until - Date.now());
    res.on('drain', resume);
    res.on('close', resume);
    while (!res.destroyed && record.sentBytes < cap && Date.now() < until) {
      if (!wire(res, record, piece, false)) await new Promise((resolve) => { wake = resolve; });
    }
    clearTimeout(timer);
    res.off('drain', resume);
    res.off('close', resume);
    if (!res.destroyed) drop(res);
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
    finish(res, record);
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
    /// label -> fault for every request under `/p/<label>` (mutable).
    faults,
    /// The most recent request, optionally the most recent one matching.
    lastRequest(predicate = () => true) {
      for (let i = requests.length - 1; i >= 0; i--) if (predicate(requests[i])) return requests[i];
      return undefined;
    },
    /// Everything sent for `record` so far, as one Buffer.
    sent(record) {
      return Buffer.concat(record.sentChunks);
    },
    /// What was written for `record` before compression (the same as
    /// `sent` for an answer that was not compressed).
    plain(record) {
      return record.gzipped ? Buffer.concat(record.plainChunks) : Buffer.concat(record.sentChunks);
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
