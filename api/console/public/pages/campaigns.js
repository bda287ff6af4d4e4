// Campaigns, newest first, with live progress from each running campaign's statistics
// (a Temporal query behind /v1/campaigns/:id/stats) and the pause/resume/cancel controls.

import { api, query } from '../api.js';
import { campaignControls, finishedStatuses } from '../campaign-controls.js';
import { empty, h, panel, pill, progress, replace, syncRows, table } from '../dom.js';
import { count, percent, usd, when } from '../format.js';

/** A finished campaign's statistics no longer change: read once per tab. */
const finishedStats = new Map();

/** Statistics of each started campaign; a finished one's from the cache. */
export async function withStats(campaigns) {
  return Promise.all(
    campaigns.map(async (c) => {
      if (c.status === 'draft') return { campaign: c, stats: null };
      if (finishedStats.has(c.id)) return { campaign: c, stats: finishedStats.get(c.id) };
      try {
        const stats = await api(`/v1/campaigns/${encodeURIComponent(c.id)}/stats`);
        if (finishedStatuses.has(stats.status)) finishedStats.set(c.id, stats);
        return { campaign: c, stats };
      } catch (err) {
        // A finished campaign's figures come from its workflow, which needs a worker on its
        // task queue and a history within retention: without them, show the row without figures.
        if (finishedStatuses.has(c.status)) {
          finishedStats.set(c.id, null);
          return { campaign: c, stats: null };
        }
        throw err;
      }
    }),
  );
}

/** Done (or cancelled) contacts of all, as a bar. */
export function progressOf(stats, status) {
  const contacts = stats?.contacts;
  if (!contacts || contacts.total === 0) return h('span', { class: 'muted' }, stats ? 'no contacts' : status === 'draft' ? 'not started' : 'figures unavailable');
  const finished = contacts.done + contacts.cancelled;
  return progress(finished / contacts.total, `${count(finished)} / ${count(contacts.total)} · ${percent(finished / contacts.total)}`);
}

export function render(ctx) {
  ctx.setTitle('Campaigns', 'Progress, pace and cost of each campaign, live');
  const { el, tbody } = table(['Campaign', 'Status', 'Progress', 'Dials', 'In flight', 'Cost', 'Pace (calls/s)', 'Started', ''], 'campaigns-table');
  const body = h('div', { class: 'table-wrap' }, el);
  replace(ctx.main, panel(null, body));

  const refresh = async () => {
    const page = await api(`/v1/campaigns${query({ limit: 50 })}`);
    const rows = await withStats(page.items);
    if (!ctx.isCurrent()) return;
    if (rows.length === 0) {
      replace(body, empty('No campaigns yet', 'Create one through the API (POST /v1/campaigns) or the kickcall CLI, upload its contacts and start it: it appears here.'));
      return;
    }
    if (!body.contains(el)) replace(body, el);
    syncRows(
      tbody,
      rows.map(({ campaign, stats }) => ({ id: campaign.id, name: campaign.name, status: stats?.status ?? campaign.status, startedAt: campaign.startedAt, stats })),
      (r) => r.id,
      (r) => [
        h('td', { class: 'cell-main' }, h('a', { href: `#/campaigns/${encodeURIComponent(r.id)}`, class: 'link-strong' }, r.name), h('div', { class: 'cell-sub mono' }, r.id)),
        pill(r.status),
        h('td', { class: 'cell-progress' }, progressOf(r.stats, r.status)),
        h('td', { class: 'num' }, count(r.stats?.dials)),
        h('td', { class: 'num' }, count(r.stats?.inFlight)),
        h('td', { class: 'num' }, usd(r.stats?.costUsd)),
        h('td', { class: 'num' }, r.stats ? `${r.stats.callsPerSecondAchieved.toFixed(2)} / ${r.stats.callsPerSecondConfigured}` : '–'),
        when(r.startedAt),
        h('td', { class: 'cell-actions' }, campaignControls(ctx, r, r.status, refresh)),
      ],
    );
  };
  ctx.every(2000, refresh);
}
