// Recent calls, newest first, filtered by status; a page at a time.

import { api, query } from '../api.js';
import { empty, h, panel, pill, replace, syncRows, table } from '../dom.js';
import { between, seconds, when } from '../format.js';

export const callHeaders = ['Call', 'Status', 'Disposition', 'Attempt', 'Started', 'Talk time', 'End reason'];

/** A call summary's table cells. */
export function callRow(c) {
  return [
    h('td', { class: 'cell-main' }, h('a', { href: `#/calls/${encodeURIComponent(c.id)}`, class: 'link-strong mono', title: c.id }, shortId(c.id, c.campaignId)), c.campaignId ? h('div', { class: 'cell-sub mono' }, c.campaignId) : h('div', { class: 'cell-sub' }, c.direction)),
    pill(c.status),
    c.disposition ? h('span', { class: 'tag' }, c.disposition.replaceAll('_', ' ')) : h('span', { class: 'muted' }, '–'),
    h('td', { class: 'num' }, String(c.attempt)),
    when(c.createdAt),
    h('td', { class: 'num' }, c.answeredAt ? seconds(between(c.answeredAt, c.endedAt)) : '–'),
    h('span', { class: 'muted' }, c.endReason ?? ''),
  ];
}

/**
 * A call ID without what the row already says: IDs read
 * `<direction>_<tenant>_<campaign>_<contact>_<attempt>` (without the campaign for a call
 * of its own), and the tenant and campaign are the same on every row.
 */
export function shortId(id, campaignId = null) {
  const withoutTenant = id.split('_').slice(2).join('_');
  const rest = campaignId && withoutTenant.startsWith(`${campaignId}_`) ? withoutTenant.slice(campaignId.length + 1) : withoutTenant;
  return rest ? `…${rest}` : id;
}

const statuses = ['', 'scheduled', 'dialling', 'in_progress', 'ended'];

export function render(ctx) {
  ctx.setTitle('Calls', 'Every call of the tenant, newest first');
  const status = ctx.query.get('status') ?? '';
  const select = h('select', { 'aria-label': 'Status', onchange: () => ctx.navigate(`#/calls${query({ status: select.value })}`) }, statuses.map((s) => h('option', { value: s, selected: s === status }, s ? s.replaceAll('_', ' ') : 'All statuses')));
  replace(ctx.actions, select);
  const { el, tbody } = table(callHeaders, 'calls-table');
  const body = h('div', { class: 'table-wrap' }, el);
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Load more');
  replace(ctx.main, panel(null, body, h('div', { class: 'table-footer' }, more)));
  let items = [];
  let cursor = null;

  const load = async (after) => {
    const page = await api(`/v1/calls${query({ status, limit: 50, cursor: after })}`);
    if (!ctx.isCurrent()) return;
    items = after ? [...items, ...page.items] : page.items;
    cursor = page.nextCursor;
    more.hidden = !cursor;
    if (items.length === 0) replace(body, empty('No calls', status ? `No call is ${status.replaceAll('_', ' ')} right now.` : 'Calls appear here once a campaign dials or POST /v1/calls starts one.'));
    else {
      if (!body.contains(el)) replace(body, el);
      syncRows(tbody, items, (c) => c.id, callRow);
    }
  };
  more.addEventListener('click', () => void ctx.run(() => load(cursor)));
  // The first page stays fresh; once more pages are loaded the list holds still.
  ctx.every(5000, () => (items.length > 50 ? Promise.resolve() : load(null)));
}
