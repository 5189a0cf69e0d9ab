// Small upstreams that speak one provider format each (OpenAI chat
// completions or Anthropic messages), for the format translation tests: the
// black-box ones (tests/api/translation.test.mjs) and those with the
// official clients (tests/sdk/translation_sdk.test.mjs). Each records every
// request it receives.

import http from 'node:http';

import { hex } from './harness.mjs';

/// Usage the Anthropic-format upstream reports.
export const ANTHROPIC_USAGE = Object.freeze({ input_tokens: 21, output_tokens: 9 });
/// Usage the OpenAI-format upstream reports.
export const OPENAI_USAGE = Object.freeze({ prompt_tokens: 13, completion_tokens: 7, total_tokens: 20 });

/// Texts the upstreams answer with: whole, and streamed in two deltas.
export const ANTHROPIC_TEXT = 'Hello from Anthropic.';
export const OPENAI_TEXT = 'Hello from OpenAI.';
export const STREAM_DELTAS = Object.freeze(['Hel', 'lo']);

/// Arguments of every tool call the upstreams make.
export const TOOL_INPUT = Object.freeze({ city: 'Paris' });
export const ANTHROPIC_TOOL_ID = 'toolu_01';
export const OPENAI_TOOL_ID = 'call_01';

/// A provider of `format` ('openai' or 'anthropic') on 127.0.0.1. It
/// answers in its format: a tool call when the request offers tools and
/// carries no tool result yet, else text. Header `x-stop` sets the stop
/// reason, `x-status` answers that status with the format's error body.
export async function startFormatUpstream(format) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      let json = null;
      try { json = JSON.parse(body); } catch { json = null; }
      requests.push({ method: req.method, path: req.url, headers: req.headers, rawHeaders: req.rawHeaders, json });
      const status = Number(req.headers['x-status'] || 0);
      if (status) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(format === 'anthropic'
          ? { type: 'error', error: { type: 'rate_limit_error', message: 'slow down (anthropic)' } }
          : { error: { message: 'slow down (openai)', type: 'rate_limit_error', param: null, code: null } }));
        return;
      }
      const want = format === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
      if (req.method !== 'POST' || !req.url.endsWith(want) || !json) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"wrong path"}}');
        return;
      }
      (format === 'anthropic' ? anthropicAnswer : openaiAnswer)(req, res, json);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    last: () => requests.at(-1),
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

/// The name of the first tool offered when the conversation holds no tool
/// result yet (found by `resultMarker` in the serialized messages).
function wantsTool(json, resultMarker) {
  if (!Array.isArray(json.tools) || json.tools.length === 0) return null;
  const text = JSON.stringify(json.messages);
  return text.includes(resultMarker) ? null : (json.tools[0].name ?? json.tools[0].function?.name);
}

function sse(res, events) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const e of events) res.write(e);
  res.end();
}

function anthropicAnswer(req, res, json) {
  const tool = wantsTool(json, 'tool_result');
  const stop = req.headers['x-stop'] || (tool ? 'tool_use' : 'end_turn');
  const id = `msg_${hex(6)}`;
  if (!json.stream) {
    const content = tool
      ? [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: ANTHROPIC_TOOL_ID, name: tool, input: TOOL_INPUT }]
      : [{ type: 'text', text: ANTHROPIC_TEXT }];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      id, type: 'message', role: 'assistant', model: json.model, content, stop_reason: stop, stop_sequence: null,
      usage: ANTHROPIC_USAGE,
    }));
    return;
  }
  const ev = (name, data) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
  const events = [
    ev('message_start', { message: {
      id, type: 'message', role: 'assistant', model: json.model, content: [], stop_reason: null, stop_sequence: null,
      usage: { input_tokens: ANTHROPIC_USAGE.input_tokens, output_tokens: 1 },
    } }),
    ev('ping', {}),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ...STREAM_DELTAS.map((text) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })),
    ev('content_block_stop', { index: 0 }),
  ];
  if (tool) {
    const args = JSON.stringify(TOOL_INPUT);
    const cut = Math.floor(args.length / 2);
    events.push(
      ev('content_block_start', { index: 1,
        content_block: { type: 'tool_use', id: ANTHROPIC_TOOL_ID, name: tool, input: {} } }),
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(0, cut) } }),
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(cut) } }),
      ev('content_block_stop', { index: 1 }),
    );
  }
  events.push(
    ev('message_delta', { delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: ANTHROPIC_USAGE.output_tokens } }),
    ev('message_stop', {}),
  );
  sse(res, events);
}

function openaiAnswer(req, res, json) {
  const tool = wantsTool(json, '"role":"tool"');
  const finish = req.headers['x-stop'] || (tool ? 'tool_calls' : 'stop');
  const id = `chatcmpl-${hex(6)}`;
  const base = { id, created: 1700000000, model: json.model };
  const args = JSON.stringify(TOOL_INPUT);
  if (!json.stream) {
    const message = tool
      ? { role: 'assistant', content: null, tool_calls: [
        { id: OPENAI_TOOL_ID, type: 'function', function: { name: tool, arguments: args } }] }
      : { role: 'assistant', content: OPENAI_TEXT };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage: OPENAI_USAGE,
    }));
    return;
  }
  const chunk = (delta, finishReason = null) => `data: ${JSON.stringify({
    ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }],
  })}\n\n`;
  const events = [chunk({ role: 'assistant', content: '' }), ...STREAM_DELTAS.map((content) => chunk({ content }))];
  if (tool) {
    const cut = Math.floor(args.length / 2);
    events.push(
      chunk({ tool_calls: [{ index: 0, id: OPENAI_TOOL_ID, type: 'function',
        function: { name: tool, arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, cut) } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(cut) } }] }),
    );
  }
  events.push(chunk({}, finish));
  if (json.stream_options?.include_usage) {
    events.push(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: OPENAI_USAGE })}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  sse(res, events);
}
