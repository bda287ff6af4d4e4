// A call's transcript as a conversation: new turns are appended as they arrive, and the
// view follows the newest turn unless the reader has scrolled up.

import { empty, h, replace } from './dom.js';
import { when } from './format.js';

export function transcriptView(emptyHint = 'Turns appear as the caller and the agent speak.') {
  const list = h('ol', { class: 'transcript' });
  const el = h('div', { class: 'transcript-scroll' }, list);
  let shown = new Set();

  return {
    el,
    /** @param {{ seq: number, role: 'user' | 'agent', text: string, interrupted: boolean, at: string }[]} turns */
    update(turns) {
      if (turns.length === 0) {
        shown = new Set();
        replace(list, h('li', { class: 'transcript-empty' }, empty('No transcript yet', emptyHint)));
        return;
      }
      if (shown.size === 0) list.replaceChildren();
      const following = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      for (const t of turns) {
        if (shown.has(t.seq)) continue;
        shown.add(t.seq);
        list.append(
          h(
            'li',
            { class: `turn turn-${t.role}`, dataset: { seq: t.seq } },
            h('div', { class: 'turn-meta' }, t.role === 'agent' ? 'Agent' : 'Caller', ' · ', when(t.at), t.interrupted ? h('span', { class: 'tag tag-amber' }, 'interrupted') : null),
            h('div', { class: 'turn-text' }, t.text),
          ),
        );
      }
      if (following) el.scrollTop = el.scrollHeight;
    },
  };
}
