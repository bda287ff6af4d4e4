// Sign-in: an API key, checked against the API before it is kept for the tab's session.

import { ApiError, signIn } from '../api.js';
import { h } from '../dom.js';

function reason(err) {
  if (err instanceof ApiError && err.status === 401) return 'That key was not accepted. Check that it was copied whole (it starts with kk_) and has not been revoked.';
  if (err instanceof ApiError && err.status === 429) return 'Too many attempts with this key. Wait a moment and try again.';
  if (err instanceof ApiError) return `The API refused the sign-in (HTTP ${err.status}).`;
  return 'The API could not be reached. Is it running?';
}

export function render({ navigate, notice }) {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'kk_…', required: true });
  const error = h('div', { class: 'form-error', role: 'alert', hidden: !notice }, notice || '');
  const button = h('button', { class: 'button button-primary button-wide', type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'sign-in-form',
      onsubmit: async (event) => {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        button.disabled = true;
        error.hidden = true;
        try {
          await signIn(key);
          navigate('#/campaigns');
        } catch (err) {
          error.textContent = reason(err);
          error.hidden = false;
          input.select();
        } finally {
          button.disabled = false;
        }
      },
    },
    h('label', { for: 'api-key' }, 'API key'),
    input,
    error,
    button,
  );
  queueMicrotask(() => input.focus());
  return h(
    'div',
    { class: 'sign-in' },
    h(
      'div',
      { class: 'sign-in-card' },
      h('div', { class: 'brand brand-large' }, h('img', { src: 'favicon.svg', alt: '', width: 36, height: 36 }), h('span', {}, 'Kickcall'), h('span', { class: 'brand-tag' }, 'ops')),
      h('h1', {}, 'Operations console'),
      h('p', { class: 'muted' }, 'Sign in with an API key. Everything you see is what the key may read in its tenant; viewer keys can watch but not control campaigns.'),
      form,
      h('p', { class: 'hint' }, 'No key yet? On the server: ', h('code', {}, 'npm run api-key -- --tenant <id> --role admin'), '. The key is kept in this tab only.'),
    ),
  );
}
