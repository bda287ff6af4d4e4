// Pause, resume and cancel: buttons on the existing /v1/campaigns/:id/{pause,resume,cancel}
// routes. A viewer key sees them disabled (the API would refuse it with 403 anyway).

import { allows, api } from './api.js';
import { h } from './dom.js';

export const finishedStatuses = new Set(['completed', 'cancelled', 'stopped']);

/** Asks for the reason a cancellation needs; resolves to it, or null if dismissed. */
function askCancelReason(campaignName) {
  return new Promise((resolve) => {
    const input = h('input', { type: 'text', name: 'reason', maxlength: 500, required: true, placeholder: 'e.g. Wrong contact list', 'aria-label': 'Reason' });
    const dialog = h('dialog', { class: 'dialog' });
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.append(
      h(
        'form',
        {
          method: 'dialog',
          onsubmit: (event) => {
            event.preventDefault();
            if (input.value.trim()) close(input.value.trim());
          },
        },
        h('h2', {}, 'Cancel campaign'),
        h('p', {}, 'Queued contacts of ', h('strong', {}, campaignName), ' are cancelled with this reason; calls in progress finish. This cannot be undone.'),
        input,
        h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'button', onclick: () => close(null) }, 'Keep running'), h('button', { type: 'submit', class: 'button button-danger' }, 'Cancel campaign')),
      ),
    );
    dialog.addEventListener('cancel', () => close(null));
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/**
 * The control buttons for a campaign in `status`. `after()` runs once an action was
 * accepted (to refresh the page).
 */
export function campaignControls(ctx, campaign, status, after) {
  const operator = allows(ctx.session, 'operator');
  const why = operator ? null : 'Your key is a viewer key: only operator and admin keys control campaigns.';
  /** @param {HTMLButtonElement} button */
  const act = async (name, body, button) => {
    button.disabled = true;
    const done = await ctx.run(() => api(`/v1/campaigns/${encodeURIComponent(campaign.id)}/${name}`, { method: 'POST', body }));
    if (done) await ctx.run(after);
    else button.disabled = false;
  };
  const button = (label, name, enabled, tone, onclick) =>
    h('button', { type: 'button', class: `button button-small ${tone}`, disabled: !operator || !enabled, title: why, dataset: { action: name }, onclick }, label);
  const simple = (name) => (event) => void act(name, {}, event.currentTarget);
  const cancel = async (event) => {
    const target = event.currentTarget;
    const reason = await askCancelReason(campaign.name);
    if (reason) await act('cancel', { reason }, target);
  };
  return h(
    'div',
    { class: 'controls' },
    button('Pause', 'pause', status === 'running', '', simple('pause')),
    button('Resume', 'resume', status === 'paused', '', simple('resume')),
    button('Cancel', 'cancel', status === 'running' || status === 'paused', 'button-danger-ghost', (event) => void cancel(event)),
  );
}
