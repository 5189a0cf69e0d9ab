import { post } from '../api.js';
import * as session from '../session.js';
import { authPage } from './auth_form.js';
import { h, replace } from '../dom.js';
import { button, secretOnce } from '../ui.js';

/** "Acme Labs" → "acme-labs", as the API expects of a slug. */
function slugOf(name) {
  return name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
}

export default {
  path: '/ui/signup',
  title: 'Create an organization',
  public: true,
  render(ctx) {
    const page = authPage({
      title: 'Create an organization',
      intro: 'You become its owner. Invite your team afterwards.',
      fields: [
        { name: 'display_name', label: 'Your name', required: true, autocomplete: 'name' },
        { name: 'email', label: 'Email', type: 'email', required: true, autocomplete: 'email' },
        { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 8 characters.' },
        { name: 'org_name', label: 'Organization name', required: true, autocomplete: 'organization' },
        { name: 'org_slug', label: 'Organization slug', required: true, hint: 'Lowercase letters, digits and dashes; cannot change later.' },
      ],
      submitLabel: 'Create organization',
      async submit(values) {
        const answer = await post('/api/v1/signup', values);
        session.setToken(answer.token);
        // The organization's first key is shown here once.
        const card = page.querySelector('.auth-card');
        replace(card,
          h('p', { class: 'auth-brand' }, 'Gatehouse'),
          h('h1', { id: 'page-title', tabindex: '-1' }, `Welcome to ${answer.org.name}`),
          h('p', null, 'Your organization has a first API key, “Default”, with every scope.'),
          secretOnce('Your API key', answer.api_key),
          button('Continue to the console', () => ctx.navigate('/ui/overview'), { variant: 'primary' }));
        card.querySelector('h1').focus();
      },
      links: ['Already have an account? ', h('a', { href: '/ui/login' }, 'Sign in')],
    });
    // The slug follows the name until someone edits it.
    const name = page.querySelector('[name=org_name]');
    const slug = page.querySelector('[name=org_slug]');
    let touched = false;
    slug.addEventListener('input', () => { touched = true; });
    name.addEventListener('input', () => { if (!touched) slug.value = slugOf(name.value); });
    return page;
  },
};
