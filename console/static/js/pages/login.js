import { post } from '../api.js';
import * as session from '../session.js';
import { authPage, nextPage } from './auth_form.js';
import { h } from '../dom.js';

export default {
  path: '/ui/login',
  title: 'Sign in',
  public: true,
  render(ctx) {
    return authPage({
      title: 'Sign in',
      intro: 'Manage your organization’s providers, keys, teams and spend.',
      fields: [
        { name: 'email', label: 'Email', type: 'email', required: true, autocomplete: 'username' },
        { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password' },
      ],
      submitLabel: 'Sign in',
      async submit(values) {
        const answer = await post('/api/v1/login', values);
        session.setToken(answer.token);
        ctx.navigate(nextPage(ctx.params), { replace: true });
      },
      links: ['No account yet? ', h('a', { href: '/ui/signup' }, 'Create an organization')],
    });
  },
};
