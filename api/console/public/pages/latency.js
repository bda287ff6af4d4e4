// Latency dashboard: p50/p95/p99 of each turn stage over the selected calls
// (GET /v1/analytics/latency, from the media workers' turn metrics).

import { api } from '../api.js';
import { chartBox, colours } from '../charts.js';
import { empty, h, panel, replace, stat, syncRows, table } from '../dom.js';
import { count, ms } from '../format.js';
import { dashboardFilter } from '../filters.js';

const stages = [
  ['eouDelayMs', 'End of utterance'],
  ['sttMs', 'STT final'],
  ['llmTtftMs', 'LLM first token'],
  ['ttsTtfbMs', 'TTS first byte'],
  ['voiceToVoiceMs', 'Voice to voice'],
];

export function render(ctx) {
  const filter = dashboardFilter(ctx, '/latency');
  ctx.setTitle('Latency', `Per turn stage, ${filter.label}`);
  const stats = h('div', { class: 'stats' });
  const chart = chartBox('Latency percentiles per turn stage', 300);
  const slot = h('div', { class: 'chart-slot' });
  const percentiles = table(['Stage', 'Turns', 'p50', 'p95', 'p99'], 'latency-table');
  replace(ctx.main, stats, panel('Percentiles per stage', slot), panel('Figures', h('div', { class: 'table-wrap' }, percentiles.el)));

  const refresh = async () => {
    const l = await api(`/v1/analytics/latency${filter.analyticsQuery}`);
    if (!ctx.isCurrent()) return;
    const v2v = l.voiceToVoiceMs;
    replace(stats, stat('Agent turns measured', count(v2v.count)), stat('Voice to voice p50', ms(v2v.p50)), stat('Voice to voice p95', ms(v2v.p95)), stat('Voice to voice p99', ms(v2v.p99)));
    if (v2v.count === 0) replace(slot, empty('No turn metrics yet', 'Latency comes from the media workers’ turn metrics, one per agent turn.'));
    else {
      if (!slot.contains(chart.el)) replace(slot, chart.el);
      chart.update({
        type: 'bar',
        data: {
          labels: stages.map(([, label]) => label),
          datasets: ['p50', 'p95', 'p99'].map((p) => ({ label: p, data: stages.map(([k]) => l[k][p]), backgroundColor: colours[p], borderRadius: 4 })),
        },
        options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } }, x: { grid: { display: false } } } },
      });
    }
    syncRows(percentiles.tbody, stages.map(([k, label]) => ({ k, label, ...l[k] })), (r) => r.k, (r) => [h('td', {}, r.label), h('td', { class: 'num' }, count(r.count)), ...[r.p50, r.p95, r.p99].map((v) => h('td', { class: 'num' }, ms(v)))]);
  };
  ctx.every(5000, refresh);
}
