// Apps: the services of an org that own keys. Create, edit, switch on and
// off, and delete (with what the delete takes along).

import { h } from '../dom.js';
import { get, post, put, del } from '../api.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';

const TYPES = [
  ['ai_gateway', 'AI gateway'],
  ['ai_wrapper', 'AI wrapper'],
  ['api_gateway', 'API gateway'],
  ['mcp_gateway', 'MCP gateway'],
];
const ENVS = [['dev', 'dev'], ['staging', 'staging'], ['prod', 'prod']];
const METADATA_HINT = 'A JSON object for your own use, e.g. {"owner": "support", "tier": 1}.';

function plural(n, one, many) {
  return `${fmt.count(n)} ${Number(n) === 1 ? one : many}`;
}

function typeLabel(type) {
  const found = TYPES.find(([v]) => v === type);
  return found ? found[1] : type;
}

/** Parses the metadata textarea; marks the field and returns undefined when invalid. */
function parseMetadata(text, form) {
  const source = String(text || '').trim();
  if (!source) return {};
  let value;
  try {
    value = JSON.parse(source);
  } catch (err) {
    ui.fieldError(form, 'metadata', `Not valid JSON: ${err.message}`);
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    ui.fieldError(form, 'metadata', 'Metadata must be a JSON object ({…}), not a list or a single value.');
    return undefined;
  }
  return value;
}

function metadataField(value) {
  return {
    name: 'metadata', label: 'Metadata (JSON)', type: 'textarea', rows: 4,
    value: JSON.stringify(value || {}, null, 2), hint: METADATA_HINT,
  };
}

async function createApp(reload) {
  let metadata;
  const created = await ui.formDialog('New app', {
    submitLabel: 'Create',
    intro: h('p', { class: 'muted' }, 'The type cannot be changed later; the slug comes from the name.'),
    fields: [
      { name: 'name', label: 'Name', required: true, autocomplete: 'off', placeholder: 'Customer Support AI' },
      { name: 'description', label: 'Description', type: 'textarea', rows: 2 },
      { name: 'project_type', label: 'Type', type: 'select', options: TYPES, value: 'ai_gateway' },
      { name: 'env', label: 'Environment', type: 'select', options: ENVS, value: 'dev', hint: 'Tagged on the app’s request logs.' },
      metadataField({}),
    ],
    validate(values, form) {
      if (!values.name.trim()) { ui.fieldError(form, 'name', 'Give the app a name.'); return false; }
      metadata = parseMetadata(values.metadata, form);
      return metadata !== undefined;
    },
    submit: (values) => post('/api/v1/apps', {
      name: values.name.trim(),
      description: values.description,
      project_type: values.project_type,
      env: values.env,
      metadata,
    }),
  });
  if (!created || !created.id) return;
  ui.notify(`Created ${created.name} (${created.slug})`);
  reload();
}

async function editApp(app, reload) {
  let metadata;
  const danger = h('div', { class: 'gw-danger-zone' },
    h('h3', null, 'Danger zone'),
    h('p', { class: 'muted' }, 'Deleting the app deletes its API keys and request logs.'),
    ui.button('Delete this app', (ev) => {
      ev.target.closest('dialog').close();
      deleteApp(app, reload);
    }, { variant: 'danger' }));
  const saved = await ui.formDialog(`Edit ${app.name}`, {
    submitLabel: 'Save',
    intro: ui.details([
      ['ID', h('code', null, app.id)],
      ['Slug', h('code', null, app.slug)],
      ['Type', typeLabel(app.project_type)],
      ['', h('span', { class: 'muted' }, 'ID, slug and type cannot be changed.')],
    ]),
    fields: [
      { name: 'name', label: 'Name', required: true, value: app.name, autocomplete: 'off' },
      { name: 'description', label: 'Description', type: 'textarea', rows: 2, value: app.description || '' },
      { name: 'env', label: 'Environment', type: 'select', options: ENVS, value: app.env },
      {
        name: 'is_active', label: 'Active', type: 'checkbox', value: app.is_active,
        hint: 'When off, every key of the app is refused with 403 app_inactive.',
      },
      metadataField(app.metadata),
      danger,
    ],
    validate(values, form) {
      if (!values.name.trim()) { ui.fieldError(form, 'name', 'The name cannot be empty.'); return false; }
      metadata = parseMetadata(values.metadata, form);
      return metadata !== undefined;
    },
    submit: (values) => put(`/api/v1/apps/${encodeURIComponent(app.id)}`, {
      name: values.name.trim(),
      description: values.description,
      env: values.env,
      is_active: values.is_active,
      metadata,
    }),
  });
  if (!saved || !saved.id) return;
  ui.notify(`Saved ${saved.name}`);
  reload();
}

async function setActive(app, active, reload) {
  const ok = await ui.confirm(active ? `Activate ${app.name}?` : `Deactivate ${app.name}?`,
    active
      ? `The app’s keys are accepted again from the next request on.`
      : `Every key of “${app.name}” is refused with 403 app_inactive from the next request on, `
        + 'until the app is activated again. The keys themselves are kept.',
    { confirmLabel: active ? 'Activate' : 'Deactivate', danger: !active });
  if (!ok) return;
  const done = await ui.attempt(
    () => put(`/api/v1/apps/${encodeURIComponent(app.id)}`, { is_active: active }),
    `${app.name} is ${active ? 'active' : 'inactive'}`);
  if (done) reload();
}

async function deleteApp(app, reload) {
  let info;
  try {
    info = await get(`/api/v1/apps/${encodeURIComponent(app.id)}/info`);
  } catch (err) {
    ui.notify(err.message, 'error');
    return;
  }
  const ok = await ui.confirm(`Delete ${app.name}?`, [
    h('p', null, `Deleting “${app.name}” deletes ${plural(info.keys, 'API key', 'API keys')} and `
      + `${plural(info.requests, 'request log', 'request logs')}; the audit log keeps the deletion.`),
    h('p', null, 'This cannot be undone.'),
  ], { confirmLabel: 'Delete' });
  if (!ok) return;
  const done = await ui.attempt(
    () => del(`/api/v1/apps/${encodeURIComponent(app.id)}`),
    `Deleted ${app.name}`);
  if (done) reload();
}

function activeSwitch(app, canWrite, reload) {
  const text = app.is_active ? 'Active' : 'Inactive';
  if (!canWrite) return h('span', null, ui.badge(text, app.is_active ? 'green' : 'grey'));
  return h('button', {
    type: 'button', role: 'switch', class: 'gw-switch',
    'aria-checked': String(Boolean(app.is_active)),
    'aria-label': `Active ${app.name}`,
    on: { click: () => setActive(app, !app.is_active, reload) },
  }, h('span', { class: 'gw-switch-track', 'aria-hidden': 'true' }), h('span', null, text));
}

function infoPanel(app) {
  const box = h('div');
  ui.fill(box, async () => {
    const info = await get(`/api/v1/apps/${encodeURIComponent(app.id)}/info`);
    return h('div', { class: 'gw-detail' },
      ui.details([
        ['ID', h('code', null, info.id)],
        ['Type', typeLabel(info.project_type)],
        ['Environment', info.env],
        ['API keys', fmt.count(info.keys)],
        ['Requests', fmt.count(info.requests)],
        app.description ? ['Description', app.description] : null,
        ['Metadata', h('pre', null, JSON.stringify(app.metadata || {}, null, 2))],
      ]));
  }, { lines: 3 });
  return box;
}

function appTable(apps, canWrite, reload, emptyAction) {
  const columns = [
    { key: 'name', label: 'Name', render: (a) => h('strong', null, a.name) },
    { key: 'slug', label: 'Slug', render: (a) => h('code', null, a.slug) },
    { key: 'project_type', label: 'Type', render: (a) => typeLabel(a.project_type) },
    { key: 'env', label: 'Env', render: (a) => h('span', null, ui.badge(a.env, a.env === 'prod' ? 'blue' : '')) },
    { key: 'is_active', label: 'Active', render: (a) => activeSwitch(a, canWrite, reload) },
    { key: 'created_at', label: 'Created', render: (a) => ui.time(a.created_at) },
  ];
  if (canWrite) {
    columns.push({
      key: 'actions', label: 'Actions',
      render: (a) => h('div', { class: 'row-actions' },
        ui.button('Edit', () => editApp(a, reload), { class: 'btn small', 'aria-label': `Edit ${a.name}` }),
        ui.button('Delete', () => deleteApp(a, reload), { class: 'btn small danger', 'aria-label': `Delete ${a.name}` })),
    });
  }
  return ui.table({
    columns,
    rows: apps,
    caption: 'Apps',
    expand: (a) => infoPanel(a),
    rowLabel: (a) => a.name,
    empty: ui.emptyState('No apps yet.',
      canWrite ? 'Create one for each service that calls the gateway, then give its keys to it.'
        : 'An admin can create one for each service that calls the gateway.',
      emptyAction),
  });
}

export default {
  path: '/ui/apps',
  title: 'Apps',
  async render(ctx) {
    const canWrite = ctx.session.can('apps:write');
    const body = h('div');
    const reload = () => ui.fill(body, async () => {
      const { apps } = await get('/api/v1/apps');
      const emptyAction = canWrite ? ui.button('Create an app', () => createApp(reload), { variant: 'primary' }) : null;
      return h('div', { class: 'gw-table' }, appTable(apps || [], canWrite, reload, emptyAction));
    }, { lines: 4 });
    reload();
    return h('div', null,
      ui.pageHeader('Apps', 'Services and projects that call the gateway; each owns its keys and usage.',
        canWrite ? ui.button('New app', () => createApp(reload), { variant: 'primary' }) : null),
      ui.section(null, body));
  },
};
