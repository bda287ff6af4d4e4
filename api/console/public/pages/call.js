// One call: its transcript, analysis, cost by component, a latency waterfall per agent
// turn, and a link to its workflow's history in the Temporal UI (the call ID is the
// workflow ID). Polled every second until the call has ended and been analysed.

import { api, temporalWorkflowUrl } from '../api.js';
import { chartBox, colours } from '../charts.js';
import { empty, h, panel, pill, replace, stat, syncRows, table } from '../dom.js';
import { between, count, ms, seconds, usd, when } from '../format.js';
import { transcriptView } from '../transcript.js';

/** Where each stage of a turn sits on the time line from the caller's last audio. */
function waterfallOf(m) {
  const llmFrom = m.eouDelayMs;
  const ttsFrom = llmFrom + m.llmTtftMs;
  return {
    eou: [0, m.eouDelayMs],
    stt: m.sttMs === null ? null : [0, m.sttMs],
    llm: [llmFrom, ttsFrom],
    tts: [ttsFrom, ttsFrom + m.ttsTtfbMs],
    v2v: [0, m.voiceToVoiceMs],
  };
}

function waterfallChart(chart, metrics) {
  const rows = metrics.map(waterfallOf);
  const dataset = (label, key, colour) => ({ label, data: rows.map((r) => r[key]), backgroundColor: colour, borderRadius: 3, barPercentage: 0.9, categoryPercentage: 0.8 });
  chart.update({
    type: 'bar',
    data: {
      labels: metrics.map((_, i) => `Turn ${i + 1}`),
      datasets: [
        dataset('End of utterance', 'eou', colours.eou),
        dataset('STT final', 'stt', colours.stt),
        dataset('LLM first token', 'llm', colours.llm),
        dataset('TTS first byte', 'tts', colours.tts),
        dataset('Voice to voice', 'v2v', colours.v2v),
      ],
    },
    options: {
      indexAxis: 'y',
      scales: { x: { title: { display: true, text: 'ms from the caller’s last audio' }, beginAtZero: true }, y: { grid: { display: false } } },
      plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${Math.round(c.raw[0])}–${Math.round(c.raw[1])} ms` } } },
    },
  });
}

function analysisView(call) {
  const a = call.analysis;
  const rows = [];
  if (a?.status === 'ok') {
    rows.push(['Summary', a.summary ?? '–'], ['Sentiment', a.sentiment ?? '–'], ['Goal met', a.goalMet === null ? '–' : a.goalMet ? 'yes' : 'no']);
    if (a.fields && typeof a.fields === 'object') for (const [k, v] of Object.entries(a.fields)) rows.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  for (const [k, v] of Object.entries(call.answers)) rows.push([`Answer: ${k}`, v]);
  for (const c of call.callbacks) rows.push(['Callback requested', c]);
  if (a?.status === 'failed') rows.push(['Analysis failed', a.error ?? 'no reason given']);
  if (rows.length === 0) return empty('No analysis', call.status === 'ended' ? 'Calls without a conversation (voicemail, no answer) are not analysed.' : 'The conversation is analysed once the call ends.');
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function costView(call) {
  const b = call.costBreakdownUsd;
  const u = call.usage;
  const { el, tbody } = table(['Component', 'Usage', 'Cost'], 'cost-table');
  syncRows(
    tbody,
    [
      { k: 'Speech to text', usage: `${seconds(u.sttAudioS)} of audio`, usd: b.sttUsd },
      { k: 'Text to speech', usage: `${count(u.ttsCharacters)} characters`, usd: b.ttsUsd },
      { k: 'LLM', usage: `${count(u.llmInputTokens)} in · ${count(u.llmOutputTokens)} out tokens`, usd: b.llmUsd },
      { k: 'Telephony', usage: call.answeredAt ? `${seconds(between(call.answeredAt, call.endedAt))} connected` : 'not connected', usd: b.telephonyUsd },
      { k: 'Self-hosted servers', usage: 'amortised per connected minute', usd: b.selfHostedUsd },
      { k: 'Total', usage: '', usd: b.totalUsd },
    ],
    (r) => r.k,
    (r) => [h('td', { class: r.k === 'Total' ? 'strong' : '' }, r.k), h('td', { class: 'muted' }, r.usage), h('td', { class: `num${r.k === 'Total' ? ' strong' : ''}` }, usd(r.usd))],
  );
  return [el, h('p', { class: 'hint' }, call.costUsd === null ? 'Priced by the price table in force; the recorded cost is set once the call has been accounted.' : `Recorded cost ${usd(call.costUsd)}, by the prices of the worker that accounted it.`)];
}

export function render(ctx) {
  const [callId] = ctx.params;
  ctx.setTitle('Call', callId);
  const temporalLink = h('a', { class: 'button button-small', href: temporalWorkflowUrl(ctx.config, callId), target: '_blank', rel: 'noopener noreferrer', dataset: { link: 'temporal' } }, 'History in Temporal UI ↗');
  replace(ctx.actions, temporalLink);
  const facts = h('div', { class: 'stats' });
  const transcript = transcriptView('This call has no recorded turns (it was not answered, or its transcript was erased).');
  const analysis = h('div');
  const cost = h('div');
  const chart = chartBox('Latency of each agent turn by stage', 80);
  const latency = h('div', { class: 'chart-slot' });
  const latencyTable = table(['Turn', 'End of utterance', 'STT final', 'LLM first token', 'TTS first byte', 'Voice to voice'], 'latency-table');
  replace(
    ctx.main,
    facts,
    h('div', { class: 'grid-2' }, panel('Transcript', transcript.el), h('div', { class: 'stack' }, panel('Analysis', analysis), panel('Cost', cost))),
    panel('Latency per turn', latency),
  );
  let settled = false;

  const refresh = async () => {
    if (settled) return;
    const call = await api(`/v1/calls/${encodeURIComponent(callId)}`);
    if (!ctx.isCurrent()) return;
    ctx.setTitle(call.direction === 'inbound' ? 'Inbound call' : 'Outbound call', call.id);
    replace(
      facts,
      stat('Status', pill(call.status), call.endReason ?? null),
      stat('Disposition', call.disposition ? call.disposition.replaceAll('_', ' ') : '–'),
      stat('Started', when(call.createdAt), `attempt ${call.attempt}`),
      stat('Talk time', call.answeredAt ? seconds(between(call.answeredAt, call.endedAt)) : '–', call.answeredAt ? `answered ${when(call.answeredAt)}` : 'not answered'),
      stat('Cost', usd(call.costUsd ?? call.costBreakdownUsd.totalUsd), call.costUsd === null ? 'so far' : 'recorded'),
      call.campaignId ? stat('Campaign', h('a', { href: `#/campaigns/${encodeURIComponent(call.campaignId)}`, class: 'link-strong' }, 'open'), call.campaignId) : null,
    );
    transcript.update(call.turns);
    replace(analysis, analysisView(call));
    replace(cost, ...costView(call));
    if (call.turnMetrics.length === 0) replace(latency, empty('No turn metrics', 'Media workers report each agent turn’s latency; this call has none (not answered, or run without media).'));
    else {
      chart.el.style.height = `${Math.max(160, 70 + call.turnMetrics.length * 56)}px`;
      if (!latency.contains(chart.el)) replace(latency, chart.el, h('div', { class: 'table-wrap' }, latencyTable.el));
      waterfallChart(chart, call.turnMetrics);
      syncRows(latencyTable.tbody, call.turnMetrics.map((m, i) => ({ ...m, turn: i + 1 })), (m) => String(m.seq), (m) => [
        h('td', {}, `Turn ${m.turn}`),
        ...[m.eouDelayMs, m.sttMs, m.llmTtftMs, m.ttsTtfbMs].map((v) => h('td', { class: 'num' }, ms(v))),
        h('td', { class: 'num strong' }, ms(m.voiceToVoiceMs)),
      ]);
    }
    // An ended call still gains its analysis and recorded cost shortly after.
    // (Only campaign calls are priced; voicemail and silent calls are not analysed.)
    settled = call.status === 'ended' && (call.costUsd !== null || !call.campaignId) && (call.analysis !== null || call.turns.length === 0 || call.disposition === 'voicemail');
  };
  ctx.every(1000, refresh);
}
