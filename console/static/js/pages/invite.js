// Accepting an invitation. The link carries the invitation token in the
// fragment (/ui/invite#token=…), which browsers never send to a server; the
// page takes it out of the address bar at once.

import { api } from '../api.js';
import * as session from '../session.js';
import { authPage } from './auth_form.js';
import { h } from '../dom.js';

let pending = null;

export default {
  path: '/ui/invite',
  title: 'Accept invitation',
  public: true,
  render(ctx) {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
    if (fromHash) {
      pending = fromHash;
      history.replaceState(null, '', '/ui/invite');
    }
    if (!pending) {
      return authPage({
        title: 'Accept invitation',
        intro: 'This link has no invitation in it. Open the whole link you were sent, or ask an admin to resend the invitation.',
        fields: [],
        submitLabel: 'Go to sign in',
        async submit() { ctx.navigate('/ui/login'); },
      });
    }
    return authPage({
      title: 'Accept invitation',
      intro: 'Choose your name and a password. If this email already has a Gatehouse account, enter that account’s password instead: it proves the account is yours and nothing about it changes.',
      fields: [
        { name: 'display_name', label: 'Your name', autocomplete: 'name' },
        { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 8 characters.' },
      ],
      submitLabel: 'Join organization',
      async submit(values) {
        const body = { invite_token: pending, password: values.password };
        if (values.display_name) body.display_name = values.display_name;
        const answer = await api('POST', '/api/v1/invites/accept', { body, anonymous: true });
        pending = null;
        session.setToken(answer.token);
        ctx.navigate('/ui/overview', { replace: true });
      },
      links: [h('a', { href: '/ui/login' }, 'Sign in instead')],
    });
  },
};
