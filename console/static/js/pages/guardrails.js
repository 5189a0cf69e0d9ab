// Guardrails: the organization's rules that redact, block or flag what
// requests and answers contain. Each change sends the whole rule set:
// PUT /api/v1/guardrails replaces what is stored.

import { h } from '../dom.js';
import { get, put, ApiError } from '../api.js';
import * as ui from '../ui.js';
import * as fmt from '../format.js';

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_RULES = 50;

/** [detector, label, personal data] in the order offered. */
const DETECTORS = [
  ['email', 'Email addresses', true],
  ['phone', 'Phone numbers', true],
  ['payment_card', 'Payment card numbers (Luhn)', true],
  ['iban', 'IBANs', true],
  ['us_ssn', 'US social security numbers', true],
  ['ip_address', 'IP addresses', true],
  ['secret', 'Secrets (API keys, tokens)', false],
  ['regex', 'Regular expression', false],
  ['terms', 'List of terms', false],
];
const PII = new Set(DETECTORS.filter((d) => d[2]).map((d) => d[0]));
const DETECTOR_LABEL = Object.fromEntries(DETECTORS.map(([k, l]) => [k, l]));

const ACTIONS = [
  ['redact', 'Redact: replace each match before it leaves Gatehouse'],
  ['block', 'Block: refuse with 400 guardrail_blocked'],
  ['flag', 'Flag: only record the match in the log'],
];
const ACTION_TONES = { block: 'red', redact: 'yellow', flag: 'blue' };
const SCOPES = [
  ['request', 'Requests'],
  ['response', 'Answers'],
  ['both', 'Requests and answers'],
];
const SCOPE_LABEL = Object.fromEntries(SCOPES);

/** "a, b\nc" → ["a", "b", "c"] (commas and new lines separate terms). */
function parseTerms(text) {
  return String(text || '').split(/[,\n]/).map((t) => t.trim()).filter(Boolean);
}

function explanation() {
  return h('div', { class: 'ins-prose gw-explain' },
    h('p', null, 'Rules apply at three levels: the organization (this page), each app (its ',
      h('code', null, 'guardrails'), ' field) and each API key (set when the key is created). A request is '
      + 'checked against all three, organization first. A lower level can add rules or name a rule above '
      + 'to tighten it (a stricter action or a wider scope); it can never remove or weaken one.'),
    h('p', null, 'For one detector the strictest action wins: block, then redact, then flag. Redacted text becomes ',
      h('code', null, '[REDACTED_EMAIL]'), ', ', h('code', null, '[REDACTED_PHONE]'), ' and so on, or ',
      h('code', null, '[REDACTED:rule-name]'), ' for patterns and terms. Every match is listed with the request in the logs.'));
}

function matchCell(rule) {
  if (rule.detector === 'regex') return h('code', { class: 'gw-pattern' }, rule.pattern || '');
  if (rule.detector === 'terms') {
    const terms = rule.terms || [];
    return h('span', { class: 'gw-terms' }, terms.map((t, i) => [i ? ', ' : '', h('code', null, t)]));
  }
  return h('span', { class: 'muted' }, 'built in');
}

/** The rule's fields; `current` is the rule edited, or null. */
function ruleFields(current, piiAllowed) {
  const detector = current ? current.detector : (piiAllowed ? 'email' : 'secret');
  const detectorField = ui.field({
    name: 'detector', label: 'Detector', type: 'select', value: detector,
    options: DETECTORS.map(([k, l, pii]) => [k, pii && !piiAllowed ? `${l} (needs PII redaction)` : l]),
    hint: piiAllowed ? 'What the rule looks for.'
      : 'The personal-data detectors need the “pii_redaction” feature of the Enterprise plan; secrets, patterns and terms do not.',
  });
  for (const option of detectorField.control.options) {
    if (!piiAllowed && PII.has(option.value) && option.value !== detector) option.disabled = true;
  }
  const patternField = ui.field({
    name: 'pattern', label: 'Pattern', autocomplete: 'off', value: current ? current.pattern || '' : '',
    placeholder: 'ACME-[0-9]{6}',
    hint: 'RE2 syntax (no backreferences or lookaround), at most 1 KiB.',
  });
  const termsField = ui.field({
    name: 'terms', label: 'Terms', type: 'textarea', rows: 3,
    value: current ? (current.terms || []).join('\n') : '',
    hint: 'Separated by commas or new lines; matched as whole words, ignoring case. At most 500 terms of 100 bytes.',
  });
  const sync = () => {
    patternField.hidden = detectorField.control.value !== 'regex';
    termsField.hidden = detectorField.control.value !== 'terms';
  };
  detectorField.control.addEventListener('change', sync);
  sync();
  return [
    ui.field({
      name: 'name', label: 'Name', required: true, autocomplete: 'off', value: current ? current.name : '',
      placeholder: 'no-emails', hint: 'Letters, digits, “.”, “-” and “_”, at most 64. An app or key rule of the same name can tighten it.',
    }),
    detectorField,
    patternField,
    termsField,
    ui.field({ name: 'action', label: 'Action', type: 'select', options: ACTIONS, value: current ? current.action : 'redact' }),
    ui.field({
      name: 'applies_to', label: 'Applies to', type: 'select', options: SCOPES,
      value: current ? current.applies_to || 'request' : 'request',
      hint: 'Answers are checked only when they are not streamed.',
    }),
  ];
}

function validateRule(v, form, current, rules, piiAllowed) {
  if (!NAME_RE.test(v.name.trim())) {
    ui.fieldError(form, 'name', 'Use 1–64 letters, digits, “.”, “-” or “_”.');
    return false;
  }
  const name = v.name.trim();
  if (rules.some((r) => r.name === name && r !== current)) {
    ui.fieldError(form, 'name', `There is already a rule named “${name}”.`);
    return false;
  }
  if (!current && rules.length >= MAX_RULES) {
    ui.fieldError(form, 'name', `The organization can have at most ${MAX_RULES} rules.`);
    return false;
  }
  if (!piiAllowed && PII.has(v.detector) && !(current && current.detector === v.detector)) {
    ui.fieldError(form, 'detector', 'This detector needs the PII redaction feature.');
    return false;
  }
  if (v.detector === 'regex' && !v.pattern.trim()) {
    ui.fieldError(form, 'pattern', 'Enter the pattern to look for.');
    return false;
  }
  if (v.detector === 'terms' && parseTerms(v.terms).length === 0) {
    ui.fieldError(form, 'terms', 'Enter at least one term.');
    return false;
  }
  return true;
}

function ruleBody(v) {
  const rule = { name: v.name.trim(), detector: v.detector, action: v.action, applies_to: v.applies_to };
  if (v.detector === 'regex') rule.pattern = v.pattern.trim();
  if (v.detector === 'terms') rule.terms = parseTerms(v.terms);
  return rule;
}

/** The set as it is stored now, with the change `edit(rules)` applied. */
async function saveWith(edit) {
  const { rules } = await get('/api/v1/guardrails');
  const next = edit((rules || []).slice());
  return put('/api/v1/guardrails', { rules: next });
}

/**
 * The API names the rule by its place ("field 'rules[2].pattern': …"): an
 * error about the rule of this dialog goes next to its field, others stay
 * at the top of the form as the API wrote them.
 */
function placeError(err, index) {
  if (!(err instanceof ApiError)) return err;
  const m = /^field 'rules\[(\d+)\](?:\.([a-z_]+))?':\s*(.*)$/s.exec(err.message);
  if (!m || Number(m[1]) !== index) return err;
  const field = m[2] === 'terms' || /^terms\[/.test(m[2] || '') ? 'terms' : (m[2] || 'name');
  return new ApiError(err.status, err.code, `field '${field}': ${m[3]}`);
}

async function editRule(current, rules, session, reload) {
  const piiAllowed = session.entitled('pii_redaction');
  let saved = '';
  const result = await ui.formDialog(current ? `Edit ${current.name}` : 'New rule', {
    submitLabel: current ? 'Save' : 'Create',
    intro: h('p', { class: 'muted' }, 'Saving sends the organization\'s whole rule set; the API replaces the stored set with it.'),
    fields: ruleFields(current, piiAllowed),
    validate: (v, form) => validateRule(v, form, current, rules, piiAllowed),
    submit: async (v) => {
      const rule = ruleBody(v);
      saved = rule.name;
      let index = -1;
      try {
        return await saveWith((stored) => {
          index = current ? stored.findIndex((r) => r.name === current.name) : -1;
          if (index >= 0) stored[index] = rule;
          else { index = stored.length; stored.push(rule); }
          return stored;
        });
      } catch (err) {
        throw placeError(err, index);
      }
    },
  });
  if (!result || !result.rules) return;
  ui.notify(current ? `Saved ${saved}` : `Added ${saved}`);
  reload();
}

async function removeRule(rule, reload) {
  const ok = await ui.confirm(`Remove ${rule.name}?`,
    [h('p', null, `Requests are no longer checked by “${rule.name}” at the organization level. `
      + 'Rules of apps and keys stay as they are, including ones of the same name.'),
    h('p', { class: 'muted' }, 'The other rules are saved unchanged.')],
    { confirmLabel: 'Remove' });
  if (!ok) return;
  const done = await ui.attempt(
    () => saveWith((stored) => stored.filter((r) => r.name !== rule.name)),
    `Removed ${rule.name}`);
  if (done) reload();
}

function ruleTable(rules, session, reload, emptyAction) {
  const canWrite = session.can('guardrails:write');
  const columns = [
    { key: 'name', label: 'Name', render: (r) => h('strong', null, r.name) },
    {
      key: 'detector', label: 'Detector',
      render: (r) => h('span', null, DETECTOR_LABEL[r.detector] || r.detector, ' ', h('code', { class: 'muted' }, r.detector)),
    },
    { key: 'action', label: 'Action', render: (r) => ui.badge(r.action, ACTION_TONES[r.action] || '') },
    { key: 'applies_to', label: 'Applies to', render: (r) => SCOPE_LABEL[r.applies_to || 'request'] || r.applies_to },
    { key: 'match', label: 'Pattern or terms', render: matchCell },
  ];
  if (canWrite) {
    columns.push({
      key: 'actions', label: 'Actions',
      render: (r) => h('div', { class: 'row-actions' },
        ui.button('Edit', () => editRule(r, rules, session, reload), { class: 'btn small', 'aria-label': `Edit ${r.name}` }),
        ui.button('Remove', () => removeRule(r, reload), { class: 'btn small danger', 'aria-label': `Remove ${r.name}` })),
    });
  }
  return h('div', { class: 'gw-table gw-rules' }, ui.table({
    columns,
    rows: rules,
    caption: 'Guardrail rules of the organization',
    empty: ui.emptyState('No rules yet.',
      canWrite ? 'Add one to redact personal data, block confidential terms or flag secrets in every request.'
        : 'An admin can add rules that redact, block or flag what requests contain.',
      emptyAction),
  }));
}

export default {
  path: '/ui/guardrails',
  title: 'Guardrails',
  async render(ctx) {
    const { session } = ctx;
    const description = 'Rules that redact, block or flag what requests and answers contain.';
    if (!session.entitled('guardrails')) {
      return h('div', null,
        ui.pageHeader('Guardrails', description),
        ui.section(null, ui.planRequired('guardrails', 'Guardrails')),
        ui.section('How rules apply', explanation()));
    }
    const canWrite = session.can('guardrails:write');
    const body = h('div');
    let rules = [];
    const reload = () => ui.fill(body, async () => {
      const answer = await get('/api/v1/guardrails');
      rules = answer.rules || [];
      const emptyAction = canWrite
        ? ui.button('Add a rule', () => editRule(null, rules, session, reload), { variant: 'primary' }) : null;
      return h('div', null,
        rules.length ? h('p', { class: 'muted gw-limit' }, `${fmt.count(rules.length)} of ${fmt.count(MAX_RULES)} rules.`) : null,
        session.entitled('pii_redaction') ? null
          : h('p', { class: 'muted' }, 'The plan lacks PII redaction: rules for secrets, patterns and terms only.'),
        ruleTable(rules, session, reload, emptyAction));
    }, { lines: 4 });
    reload();
    return h('div', null,
      ui.pageHeader('Guardrails', description,
        canWrite ? ui.button('New rule', () => editRule(null, rules, session, reload), { variant: 'primary' }) : null),
      ui.section('Organization rules', body),
      ui.section('How rules apply', explanation()));
  },
};
