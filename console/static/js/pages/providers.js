// Providers: the LLM backends of an org, their credentials (write-only),
// format, fallback chain and which one is the default.

import { h } from '../dom.js';
import { get, post, put, del } from '../api.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const AUTH_MODES = [
  ['api_key', 'API key (stored here)'],
  ['passthrough', 'Passthrough (client’s own)'],
];

/** "a, b c" → ["a", "b", "c"] */
function parseNames(text) {
  return String(text || '').split(/[\s,]+/).filter(Boolean);
}

function keyCell(p) {
  if (p.auth_mode === 'passthrough') return h('span', { class: 'muted' }, 'client’s own');
  if (!p.has_api_key) return h('span', { class: 'muted' }, 'none');
  return h('code', { 'aria-label': `key ending in ${p.api_key_last4}` }, `•••• ${p.api_key_last4 || ''}`);
}

function chain(p) {
  if (!p.fallback || p.fallback.length === 0) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'gw-chain' }, p.fallback.join(' → '));
}

function limitNote(count, plan) {
  const max = plan && plan.limits ? plan.limits.max_providers : undefined;
  if (max === undefined) return null;
  if (max === null) {
    return h('p', { class: 'muted gw-limit' }, `${fmt.count(count)} providers; the plan has no provider limit.`);
  }
  const full = count >= max;
  return h('p', { class: ['gw-limit', full ? 'warning' : 'muted'] },
    `${fmt.count(count)} of ${fmt.count(max)} providers allowed by the ${plan.plan} plan.`,
    full ? ' The limit is reached: delete one, or ask an operator for the Enterprise plan.' : '');
}

/** The provider form; `current` is the provider being edited, or null. */
function providerFields(current, others, fallbackAllowed) {
  const editing = Boolean(current);
  const mode = current ? current.auth_mode : 'api_key';
  const keyField = ui.field({
    name: 'api_key', label: 'API key', type: 'password', autocomplete: 'new-password',
    required: !editing,
    hint: editing && current.has_api_key
      ? `Write-only. Leave empty to keep the stored key (•••• ${current.api_key_last4 || ''}); a new key is stored encrypted and never shown again.`
      : 'Write-only: stored encrypted and never shown again, not even here.',
  });
  keyField.hidden = mode === 'passthrough';
  const modeField = ui.field({
    name: 'auth_mode', label: 'Authentication', type: 'select', options: AUTH_MODES, value: mode,
    hint: 'API key: Gatehouse sends the key stored here. Passthrough: the client’s own auth header is forwarded and no key is stored.',
  });
  modeField.control.addEventListener('change', () => {
    keyField.hidden = modeField.control.value === 'passthrough';
  });
  const formatOptions = editing
    ? [['openai', 'OpenAI'], ['anthropic', 'Anthropic']]
    : [['', 'Automatic (Anthropic for the name “anthropic” or an anthropic.com URL, else OpenAI)'],
      ['openai', 'OpenAI'], ['anthropic', 'Anthropic']];
  return [
    editing
      ? ui.field({ name: 'name', label: 'Name', value: current.name, disabled: true, hint: 'The name cannot be changed.' })
      : ui.field({
        name: 'name', label: 'Name', required: true, autocomplete: 'off', placeholder: 'openai',
        hint: 'Lowercase letters, digits, “-” and “_”; used in model names like openai/gpt-4o-mini.',
      }),
    ui.field({
      name: 'base_url', label: 'Base URL', type: 'url', required: true, autocomplete: 'off',
      value: current ? current.base_url : '', placeholder: 'https://api.openai.com',
    }),
    modeField,
    keyField,
    ui.field({
      name: 'auth_header', label: 'Auth header', value: current ? current.auth_header : 'Authorization',
      autocomplete: 'off',
    }),
    ui.field({
      name: 'auth_scheme', label: 'Auth scheme', value: current ? current.auth_scheme : 'Bearer',
      autocomplete: 'off',
      hint: 'Sent before the key. Empty sends the bare key (for Anthropic: header x-api-key, empty scheme).',
    }),
    ui.field({
      name: 'format', label: 'API format', type: 'select', options: formatOptions,
      value: current ? current.format : '',
      hint: 'Requests in the other format are translated (needs the Enterprise plan).',
    }),
    ui.field({
      name: 'fallback', label: 'Fallback chain', autocomplete: 'off',
      value: current ? (current.fallback || []).join(', ') : '',
      disabled: !fallbackAllowed,
      placeholder: fallbackAllowed && others.length ? others.slice(0, 2).join(', ') : '',
      hint: fallbackAllowed
        ? `Other providers to try in order on a connection error, timeout or 5xx, separated by commas. ${others.length ? `Available: ${others.join(', ')}.` : 'There are no other providers yet.'}`
        : 'Fallback chains need the Enterprise plan.',
    }),
  ];
}

function validateProvider(values, form, current, others, fallbackAllowed) {
  const editing = Boolean(current);
  if (!editing && !NAME_RE.test(values.name)) {
    ui.fieldError(form, 'name', 'Use 1–64 lowercase letters, digits, “-” or “_”, starting with a letter or digit.');
    return false;
  }
  if (!editing && values.name === 'default') {
    ui.fieldError(form, 'name', '“default” is reserved.');
    return false;
  }
  if (!/^https?:\/\/[^\s/]+/i.test(values.base_url.trim())) {
    ui.fieldError(form, 'base_url', 'Start with http:// or https:// and a host.');
    return false;
  }
  const keyStored = editing && current.auth_mode === 'api_key' && current.has_api_key;
  if (values.auth_mode === 'api_key' && !values.api_key && !keyStored) {
    ui.fieldError(form, 'api_key', 'API key mode needs the provider’s key.');
    return false;
  }
  if (fallbackAllowed) {
    const names = parseNames(values.fallback);
    const unknown = names.filter((n) => !others.includes(n));
    if (unknown.length) {
      ui.fieldError(form, 'fallback', `Not another provider of this organization: ${unknown.join(', ')}.`);
      return false;
    }
    if (new Set(names).size !== names.length) {
      ui.fieldError(form, 'fallback', 'Name each provider once.');
      return false;
    }
  }
  return true;
}

function providerBody(values, current, fallbackAllowed) {
  const body = {
    base_url: values.base_url.trim(),
    auth_mode: values.auth_mode,
    auth_header: values.auth_header.trim() || 'Authorization',
    auth_scheme: values.auth_scheme.trim(),
  };
  if (!current) body.name = values.name;
  if (values.auth_mode === 'api_key' && values.api_key) body.api_key = values.api_key;
  if (values.format && (!current || values.format !== current.format)) body.format = values.format;
  if (fallbackAllowed) {
    const names = parseNames(values.fallback);
    if (current || names.length) body.fallback = names;
  }
  return body;
}

async function editProvider(current, providers, session, reload) {
  const fallbackAllowed = session.entitled('provider_fallback');
  const others = providers.map((p) => p.name).filter((n) => !current || n !== current.name);
  const title = current ? `Edit ${current.name}` : 'New provider';
  const result = await ui.formDialog(title, {
    submitLabel: current ? 'Save' : 'Create',
    wide: true,
    fields: providerFields(current, others, fallbackAllowed),
    validate: (values, form) => validateProvider(values, form, current, others, fallbackAllowed),
    submit: (values) => (current
      ? put(`/api/v1/providers/${encodeURIComponent(current.name)}`, providerBody(values, current, fallbackAllowed))
      : post('/api/v1/providers', providerBody(values, null, fallbackAllowed))),
  });
  if (!result || !result.name) return;
  ui.notify(current ? `Saved ${result.name}` : `Added ${result.name}${result.is_default ? ' (the default provider)' : ''}`);
  reload();
}

async function makeDefault(p, reload) {
  const done = await ui.attempt(
    () => put('/api/v1/providers/default', { provider_name: p.name }),
    `${p.name} is now the default provider`);
  if (done) reload();
}

async function deleteProvider(p, providers, reload) {
  const users = providers.filter((o) => (o.fallback || []).includes(p.name)).map((o) => o.name);
  const message = [
    h('p', null, `Deleting “${p.name}” removes it and its stored API key. Requests that select it `
      + '(header, “' + p.name + '/model” names or auto-detection) stop reaching it at once.'),
  ];
  if (p.is_default) {
    message.push(h('p', { class: 'warning' }, 'It is the default provider: the organization will have no default '
      + 'until you make another one the default, and requests naming no provider get 400 provider_required.'));
  }
  if (users.length) {
    message.push(h('p', null, `It is in the fallback chain of ${users.join(', ')}.`));
  }
  const ok = await ui.confirm(`Delete ${p.name}?`, message, { confirmLabel: 'Delete' });
  if (!ok) return;
  const done = await ui.attempt(
    () => del(`/api/v1/providers/${encodeURIComponent(p.name)}`),
    `Deleted ${p.name}`);
  if (done) reload();
}

function providerTable(providers, session, reload, emptyAction) {
  const canWrite = session.can('providers:write');
  const columns = [
    {
      key: 'name', label: 'Name',
      render: (p) => h('span', { class: 'gw-name' }, h('strong', null, p.name),
        p.is_default ? ui.badge('default', 'blue') : null),
    },
    { key: 'base_url', label: 'Base URL', render: (p) => h('code', { class: 'gw-url' }, p.base_url) },
    { key: 'auth_mode', label: 'Auth', render: (p) => (p.auth_mode === 'api_key' ? 'API key' : 'passthrough') },
    { key: 'format', label: 'Format', render: (p) => (p.format === 'anthropic' ? 'Anthropic' : 'OpenAI') },
    { key: 'api_key', label: 'Key', render: keyCell },
    { key: 'fallback', label: 'Fallback', render: chain },
  ];
  if (canWrite) {
    columns.push({
      key: 'actions', label: 'Actions',
      render: (p) => h('div', { class: 'row-actions' },
        ui.button('Edit', () => editProvider(p, providers, session, reload), { class: 'btn small', 'aria-label': `Edit ${p.name}` }),
        p.is_default ? null
          : ui.button('Make default', () => makeDefault(p, reload), { class: 'btn small', 'aria-label': `Make default ${p.name}` }),
        ui.button('Delete', () => deleteProvider(p, providers, reload), { class: 'btn small danger', 'aria-label': `Delete ${p.name}` })),
    });
  }
  return ui.table({
    columns,
    rows: providers,
    caption: 'Providers',
    empty: ui.emptyState('No providers yet.',
      canWrite ? 'Add one (for example https://api.openai.com) so that keys can reach a model.'
        : 'An admin can add one so that keys can reach a model.',
      emptyAction),
  });
}

export default {
  path: '/ui/providers',
  title: 'Providers',
  async render(ctx) {
    const { session } = ctx;
    const canWrite = session.can('providers:write');
    const body = h('div');
    let providers = [];
    const reload = () => ui.fill(body, async () => {
      const answer = await get('/api/v1/providers');
      providers = (answer.providers || []).slice().sort((a, b) => a.name.localeCompare(b.name));
      const emptyAction = canWrite
        ? ui.button('Add a provider', () => editProvider(null, providers, session, reload), { variant: 'primary' }) : null;
      return h('div', null,
        limitNote(providers.length, session.plan()),
        providers.length && !answer.default_provider
          ? h('p', { class: 'warning' }, 'No default provider: requests that name no provider get 400 provider_required.')
          : null,
        h('div', { class: 'gw-table' }, providerTable(providers, session, reload, emptyAction)));
    }, { lines: 4 });
    reload();
    return h('div', null,
      ui.pageHeader('Providers', 'The LLM backends requests are routed to. Keys are stored encrypted and never shown.',
        canWrite ? ui.button('New provider', () => editProvider(null, providers, session, reload), { variant: 'primary' }) : null),
      ui.section(null, body));
  },
};
