// Calls in progress, polled every second, with the chosen call's transcript growing as
// turns happen (the event bridge writes each turn to PostgreSQL as it arrives).

import { api, query } from '../api.js';
import { empty, h, panel, pill, replace, syncRows, table } from '../dom.js';
import { between, seconds } from '../format.js';
import { transcriptView } from '../transcript.js';
import { shortId } from './calls.js';

export function render(ctx) {
  ctx.setTitle('Live calls', 'Calls dialling or in conversation now; updated every second');
  const { el, tbody } = table(['Call', 'Status', 'For', ''], 'live-table');
  const list = h('div', { class: 'table-wrap' }, el);
  const heading = h('div', { class: 'live-heading' });
  const transcript = transcriptView();
  const detail = h('div', { class: 'live-detail' }, heading, transcript.el);
  replace(ctx.main, h('div', { class: 'live' }, panel('Now', list), panel('Transcript', detail)));
  /** The call whose transcript is shown; it stays after the call ends, until another is chosen. */
  let selected = ctx.query.get('call');
  let lastSelected = null;

  const choose = (id) => {
    selected = id;
    void ctx.run(refresh);
  };

  const refresh = async () => {
    const [talking, dialling] = await Promise.all([api(`/v1/calls${query({ status: 'in_progress', limit: 50 })}`), api(`/v1/calls${query({ status: 'dialling', limit: 50 })}`)]);
    const calls = [...talking.items, ...dialling.items];
    if (!selected && talking.items[0]) selected = talking.items[0].id;
    const call = selected ? await api(`/v1/calls/${encodeURIComponent(selected)}`) : null;
    if (!ctx.isCurrent()) return;

    if (calls.length === 0) replace(list, empty('No calls in progress', 'Calls show here from the moment they dial until they hang up.'));
    else {
      if (!list.contains(el)) replace(list, el);
      syncRows(
        tbody,
        calls.map((c) => ({ id: c.id, campaignId: c.campaignId, status: c.status, since: c.answeredAt ?? c.createdAt, selected: c.id === selected })),
        (c) => c.id,
        (c) => [
          h('td', { class: 'cell-main' }, h('a', { href: `#/calls/${encodeURIComponent(c.id)}`, class: 'mono link-strong', title: c.id }, shortId(c.id, c.campaignId)), c.campaignId ? h('div', { class: 'cell-sub mono' }, c.campaignId) : null),
          pill(c.status),
          h('td', { class: 'num' }, seconds(between(c.since, null))),
          h('td', {}, h('button', { type: 'button', class: `button button-small${c.selected ? ' button-selected' : ''}`, onclick: () => choose(c.id) }, c.selected ? 'Watching' : 'Watch')),
        ],
      );
    }

    if (!call) {
      replace(heading, h('span', { class: 'muted' }, 'Choose a call to follow its transcript.'));
      transcript.update([]);
      return;
    }
    if (lastSelected !== call.id) {
      lastSelected = call.id;
      transcript.update([]);
    }
    replace(heading, h('a', { href: `#/calls/${encodeURIComponent(call.id)}`, class: 'mono link-strong', title: call.id }, shortId(call.id, call.campaignId)), pill(call.status), call.disposition ? h('span', { class: 'tag' }, call.disposition) : null);
    transcript.update(call.turns);
  };
  ctx.every(1000, refresh);
}
