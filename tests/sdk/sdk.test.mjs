// The official OpenAI and Anthropic Node.js clients, unmodified, against
// Gatehouse: only their base URL and a default X-Gatehouse-Key header are
// set. The upstream is the mock of the API suite.
//
// Needs `npm ci --prefix tests/sdk` (exact versions from package-lock.json).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PROXY_ARGS, createKey, createProvider, hex, signup, startGatehouse,
} from '../api/harness.mjs';
import { DEFAULT_MODELS, REPLY_TEXT, startMockUpstream, streamText } from '../api/mock_upstream.mjs';

async function load(name) {
  try {
    return (await import(name)).default;
  } catch (e) {
    if (e.code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(`the npm package '${name}' is not installed; run \`npm ci --prefix tests/sdk\` first`);
    }
    throw e;
  }
}

const OpenAI = await load('openai');
const Anthropic = await load('@anthropic-ai/sdk');
// The 1.x line sends its key as `Authorization: Bearer` instead of x-api-key.
const AnthropicV1 = await load('anthropic-sdk-1');

const CLAUDE_MODELS = [{ id: 'claude-3-5-haiku-latest', object: 'model', created: 1729555200, owned_by: 'mock' }];
const DUMMY_OPENAI_KEY = `sk-dummy-openai-${hex(8)}`;
const DUMMY_ANTHROPIC_KEY = `sk-ant-dummy-${hex(8)}`;

let gh;
let mock;
let s;
let openai;
let anthropic;
const providerKeys = {};

before(async () => {
  mock = await startMockUpstream({ models: { anthropic: CLAUDE_MODELS } });
  gh = await startGatehouse({ args: [...PROXY_ARGS] });
  s = await signup(gh);
  providerKeys.openai = `sk-up-openai-${hex(16)}`;
  providerKeys.anthropic = `sk-up-anthropic-${hex(16)}`;
  await createProvider(gh, s, { name: 'openai', base_url: `${mock.url}/p/openai`, api_key: providerKeys.openai });
  await createProvider(gh, s, {
    name: 'anthropic', base_url: `${mock.url}/p/anthropic`, api_key: providerKeys.anthropic,
    auth_header: 'x-api-key', auth_scheme: '',
  });
  openai = new OpenAI({
    apiKey: DUMMY_OPENAI_KEY, baseURL: `${gh.url}/v1`, defaultHeaders: { 'X-Gatehouse-Key': s.apiKey },
  });
  anthropic = new Anthropic({
    apiKey: DUMMY_ANTHROPIC_KEY, baseURL: gh.url, defaultHeaders: { 'X-Gatehouse-Key': s.apiKey },
  });
});

after(async () => {
  await mock?.close();
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

/// The mock's latest request for provider `label`, checked for credentials:
/// the stored provider key went upstream (in header `name`, as `value`), the
/// SDK's dummy key and the Gatehouse headers did not.
function upstreamRequest(label, name, value) {
  const rec = mock.lastRequest((r) => r.label === label);
  assert.ok(rec, `no request reached ${label}`);
  const all = JSON.stringify(rec.rawHeaders);
  assert.ok(!all.includes(DUMMY_OPENAI_KEY) && !all.includes(DUMMY_ANTHROPIC_KEY), 'the SDK dummy key went upstream');
  assert.ok(!all.includes(s.apiKey), 'the Gatehouse key went upstream');
  for (const h of Object.keys(rec.headers)) assert.ok(!h.startsWith('x-gatehouse-'), `${h} went upstream`);
  assert.equal(rec.headers[name], value, `upstream ${name}`);
  return rec;
}

const openaiRequest = () => upstreamRequest('openai', 'authorization', `Bearer ${providerKeys.openai}`);
const anthropicRequest = () => upstreamRequest('anthropic', 'x-api-key', providerKeys.anthropic);

const messages = [{ role: 'user', content: 'Say hello.' }];

describe('openai', () => {
  test('chat.completions.create', async () => {
    const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    assert.equal(data.choices[0].message.content, REPLY_TEXT);
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(data.usage, { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 });
    assert.equal(response.headers.get('x-gatehouse-provider'), 'openai');
    assert.ok(response.headers.get('x-gatehouse-request-id'));
    const rec = openaiRequest();
    assert.equal(rec.path, '/v1/chat/completions');
    assert.equal(rec.json.model, 'gpt-4o-mini');
  });

  test('chat.completions.create with stream: true', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.length, 3);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.ok(c.choices.length > 0, 'the SDK saw a usage-only chunk');
      assert.ok(!c.usage, 'the SDK saw usage it did not ask for');
    }
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), streamText(3));
    assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, 'stop');
    const rec = openaiRequest();
    assert.equal(rec.json.stream, true);
    assert.equal(rec.json.stream_options?.include_usage, true);
  });

  test('streaming with include_usage gets the usage chunk', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 });
    assert.equal(chunks.slice(0, -1).map((c) => c.choices[0].delta.content ?? '').join(''), streamText(3));
  });

  test('models.list', async () => {
    const ids = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    assert.deepEqual(ids.sort(), [...DEFAULT_MODELS, ...CLAUDE_MODELS].map((m) => m.id).sort());
  });

  test('embeddings.create', async () => {
    const res = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    assert.equal(res.data.length, 1);
    assert.equal(res.data[0].embedding.length, 3);
    openaiRequest();
  });

  test('Gatehouse errors surface as typed SDK errors', async () => {
    const bad = new OpenAI({
      apiKey: DUMMY_OPENAI_KEY, baseURL: `${gh.url}/v1`, defaultHeaders: { 'X-Gatehouse-Key': `sk-gate-${hex(32)}` },
    });
    await assert.rejects(bad.chat.completions.create({ model: 'gpt-4o-mini', messages }), (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'unauthorized');
      assert.equal(e.type, 'gatehouse_error');
      return true;
    });

    const { raw_key } = await createKey(gh, s, { name: 'anthropic-only', scopes: ['provider:anthropic'] });
    const scoped = new OpenAI({
      apiKey: DUMMY_OPENAI_KEY, baseURL: `${gh.url}/v1`, defaultHeaders: { 'X-Gatehouse-Key': raw_key },
    });
    await assert.rejects(scoped.chat.completions.create({ model: 'gpt-4o-mini', messages }), (e) => {
      assert.ok(e instanceof OpenAI.PermissionDeniedError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.code, 'scope_denied');
      return true;
    });
  });
});

describe('anthropic', () => {
  const params = { model: 'claude-3-5-haiku-latest', max_tokens: 64, messages };

  test('messages.create', async () => {
    const msg = await anthropic.messages.create(params);
    assert.equal(msg.type, 'message');
    assert.equal(msg.content[0].type, 'text');
    assert.equal(msg.content[0].text, REPLY_TEXT);
    assert.deepEqual(msg.usage, { input_tokens: 12, output_tokens: 34 });
    const rec = anthropicRequest();
    assert.equal(rec.path, '/v1/messages');
    assert.ok(rec.headers['anthropic-version'], 'the SDK version header reaches the upstream');
  });

  test('messages.stream', async () => {
    const stream = anthropic.messages.stream(params);
    const types = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    const final = await stream.finalMessage();
    assert.equal(text, streamText(3));
    assert.equal(final.content[0].text, streamText(3));
    assert.equal(final.usage.input_tokens, 12);
    assert.equal(final.usage.output_tokens, 34);
    assert.equal(types[0], 'message_start');
    assert.equal(types[types.length - 1], 'message_stop');
    assert.equal(types.filter((t) => t === 'content_block_delta').length, 3);
    anthropicRequest();
  });

  test('messages.create with stream: true', async () => {
    const stream = await anthropic.messages.create({ ...params, stream: true });
    let text = '';
    const types = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    assert.equal(text, streamText(3));
    assert.deepEqual(types, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta',
      'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    const rec = anthropicRequest();
    assert.equal(rec.json.stream, true);
    assert.equal(rec.json.stream_options, undefined, 'an Anthropic body gets no stream_options');
  });
});

describe('anthropic 1.x (Bearer credentials)', () => {
  // An org whose anthropic provider takes the key as `Authorization: Bearer`,
  // the way the 1.x client sends its own.
  let org;
  let client;
  let key;
  before(async () => {
    org = await signup(gh);
    key = `sk-up-bearer-${hex(16)}`;
    await createProvider(gh, org, { name: 'anthropic', base_url: `${mock.url}/p/anthropic-bearer`, api_key: key });
    client = new AnthropicV1({
      apiKey: DUMMY_ANTHROPIC_KEY, baseURL: gh.url, defaultHeaders: { 'X-Gatehouse-Key': org.apiKey },
    });
  });

  const params = { model: 'claude-3-5-haiku-latest', max_tokens: 64, messages };
  const bearerRequest = () => {
    const rec = upstreamRequest('anthropic-bearer', 'authorization', `Bearer ${key}`);
    assert.ok(!JSON.stringify(rec.rawHeaders).includes(org.apiKey), 'the Gatehouse key went upstream');
    return rec;
  };

  test('messages.create', async () => {
    const msg = await client.messages.create(params);
    assert.equal(msg.content[0].text, REPLY_TEXT);
    assert.deepEqual(msg.usage, { input_tokens: 12, output_tokens: 34 });
    const rec = bearerRequest();
    assert.ok(rec.headers['anthropic-version'], 'the SDK version header reaches the upstream');
  });

  test('messages.stream', async () => {
    const stream = client.messages.stream(params);
    let text = '';
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    assert.equal(text, streamText(3));
    assert.equal((await stream.finalMessage()).usage.output_tokens, 34);
    bearerRequest();
  });
});

describe('model aliases', () => {
  test('openai: an alias as the model reaches the provider as its target', async () => {
    const res = await gh.api('PUT', '/api/v1/aliases', {
      token: s.token, body: { aliases: { 'sdk-fast': 'openai/gpt-4o-mini' } },
    });
    assert.equal(res.status, 200, res.text);
    const { data, response } = await openai.chat.completions.create({ model: 'sdk-fast', messages }).withResponse();
    assert.equal(data.choices[0].message.content, REPLY_TEXT);
    assert.equal(response.headers.get('x-gatehouse-model'), 'gpt-4o-mini');
    assert.equal(response.headers.get('x-gatehouse-provider'), 'openai');
    assert.equal(openaiRequest().json.model, 'gpt-4o-mini');
  });
});
