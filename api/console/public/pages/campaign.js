// One campaign: its live figures, final dispositions, controls, and its latest calls.

import { api, query } from '../api.js';
import { campaignControls, finishedStatuses } from '../campaign-controls.js';
import { chartBox } from '../charts.js';
import { empty, h, panel, pill, replace, stat, syncRows, table } from '../dom.js';
import { count, usd, when } from '../format.js';
import { callRow, callHeaders } from './calls.js';
import { progressOf, withStats } from './campaigns.js';

const palette = ['#6366f1', '#10b981', '#f59e0b', '#ef4444', '#0ea5e9', '#8b5cf6', '#64748b', '#14b8a6', '#f43f5e'];

export function render(ctx) {
  const [campaignId] = ctx.params;
  ctx.setTitle('Campaign', campaignId);
  const stats = h('div', { class: 'stats' });
  const controls = h('div');
  const chart = chartBox('Final dispositions of the campaign’s contacts', 240);
  const dispositions = h('div', { class: 'chart-slot' });
  const calls = table(callHeaders, 'calls-table');
  const callsBody = h('div', { class: 'table-wrap' }, calls.el);
  replace(
    ctx.main,
    h('div', { class: 'toolbar' }, h('a', { href: '#/campaigns', class: 'link-back' }, '← All campaigns'), controls),
    stats,
    h('div', { class: 'grid-2' }, panel('Dispositions', dispositions), panel('Progress', h('div', { class: 'progress-panel' }))),
    panel('Latest calls', callsBody),
  );
  const progressPanel = /** @type {HTMLElement} */ (ctx.main.querySelector('.progress-panel'));
  let finished = false;

  const refresh = async () => {
    if (finished) return;
    const campaign = await api(`/v1/campaigns/${encodeURIComponent(campaignId)}`);
    const [{ stats: s }] = await withStats([campaign]);
    const page = await api(`/v1/calls${query({ campaignId, limit: 25 })}`);
    if (!ctx.isCurrent()) return;
    const status = s?.status ?? campaign.status;
    ctx.setTitle(campaign.name, campaign.id);
    replace(controls, pill(status), campaignControls(ctx, campaign, status, refresh));
    replace(
      stats,
      stat('Contacts', count(s?.contacts?.total), s?.contacts ? `${count(s.contacts.pending)} pending · ${count(s.contacts.retryWait)} waiting to redial` : null),
      stat('Dials', count(s?.dials), s ? `${count(s.inFlight)} in flight` : null),
      stat('Cost', usd(s?.costUsd)),
      stat('Pace', s ? `${s.callsPerSecondAchieved.toFixed(2)} /s` : '–', s ? `configured ${s.callsPerSecondConfigured} /s` : null),
      stat(finishedStatuses.has(status) ? 'Finished' : 'Estimated end', finishedStatuses.has(status) ? when(campaign.finishedAt) : when(s?.estimatedCompletionAt ?? null)),
    );
    replace(progressPanel, progressOf(s, status), s?.stopReason ? h('p', { class: 'muted' }, 'Stopped: ', s.stopReason) : null);
    const entries = Object.entries(s?.contacts?.dispositions ?? {}).sort((a, b) => b[1] - a[1]);
    if (entries.length === 0) replace(dispositions, empty('No finished contacts yet', 'Each contact’s final disposition appears here as it is decided.'));
    else {
      if (!dispositions.contains(chart.el)) replace(dispositions, chart.el);
      chart.update({
        type: 'doughnut',
        data: { labels: entries.map(([d]) => d.replaceAll('_', ' ')), datasets: [{ data: entries.map(([, n]) => n), backgroundColor: entries.map((_, i) => palette[i % palette.length]), borderWidth: 0 }] },
        options: { plugins: { legend: { position: 'right' } }, cutout: '60%' },
      });
    }
    if (page.items.length === 0) replace(callsBody, empty('No calls yet', 'Calls appear as the campaign dials.'));
    else {
      if (!callsBody.contains(calls.el)) replace(callsBody, calls.el);
      syncRows(calls.tbody, page.items, (c) => c.id, callRow);
    }
    finished = finishedStatuses.has(status);
  };
  ctx.every(2000, refresh);
}
