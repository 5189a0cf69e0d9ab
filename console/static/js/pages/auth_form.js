// The frame of the pages a visitor sees before signing in.

import { h } from '../dom.js';
import { button, clearErrors, showError, formValues, field } from '../ui.js';

/** A centred card with a title, a form of `fields` and links below. */
export function authPage({ title, intro, fields, submitLabel, submit, links }) {
  const form = h('form', { class: 'form', novalidate: true },
    h('p', { class: 'form-error', role: 'alert', tabindex: '-1' }),
    fields.map((f) => (f instanceof Node ? f : field(f))),
    button(submitLabel, null, { type: 'submit', variant: 'primary' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      await submit(formValues(form), form);
    } catch (err) {
      showError(form, err);
    } finally {
      btn.disabled = false;
    }
  });
  return h('main', { class: 'auth-page', id: 'main', tabindex: '-1' },
    h('div', { class: 'auth-card' },
      h('p', { class: 'auth-brand' }, 'Gatehouse'),
      h('h1', { id: 'page-title', tabindex: '-1' }, title),
      intro ? h('p', { class: 'muted' }, intro) : null,
      form,
      links ? h('p', { class: 'auth-links' }, links) : null));
}

/** Where to go after signing in: only a console page of this origin. */
export function nextPage(params) {
  const next = params.get('next') || '';
  return /^\/ui\/[a-z-]+(\?[^#]*)?$/.test(next) && !next.startsWith('/ui/login') ? next : '/ui/overview';
}
