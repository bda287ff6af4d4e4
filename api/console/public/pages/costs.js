// Cost dashboard: usage of the selected calls priced by component, and what the same
// characters would cost with other text-to-speech providers (GET /v1/analytics/costs).

import { api } from '../api.js';
import { chartBox, colours } from '../charts.js';
import { empty, h, panel, replace, stat, syncRows, table } from '../dom.js';
import { count, seconds, usd } from '../format.js';
import { dashboardFilter } from '../filters.js';

export function render(ctx) {
  const filter = dashboardFilter(ctx, '/costs');
  ctx.setTitle('Costs', `Usage and cost by component, ${filter.label}`);
  const stats = h('div', { class: 'stats' });
  const byComponent = chartBox('Cost by component', 260);
  const tts = chartBox('Text-to-speech cost by provider on the same characters', 260);
  const componentSlot = h('div', { class: 'chart-slot' });
  const ttsSlot = h('div', { class: 'chart-slot' });
  const usage = table(['Component', 'Usage', 'Price', 'Cost'], 'usage-table');
  const source = h('p', { class: 'hint' });
  replace(ctx.main, stats, h('div', { class: 'grid-2' }, panel('Cost by component', componentSlot), panel('Text to speech: provider comparison', ttsSlot)), panel('Usage', h('div', { class: 'table-wrap' }, usage.el), source));

  const refresh = async () => {
    const c = await api(`/v1/analytics/costs${filter.analyticsQuery}`);
    if (!ctx.isCurrent()) return;
    const tokens = c.usage.llm.reduce((sum, l) => sum + l.inputTokens + l.outputTokens, 0);
    replace(
      stats,
      stat('Calls', count(c.calls), `${count(c.answeredCalls)} answered`),
      stat('Total cost', usd(c.costUsd.totalUsd)),
      stat('Cost per call', usd(c.costPerCallUsd)),
      stat('Connected time', seconds(c.usage.connectedS)),
      stat('LLM tokens', count(tokens), c.usage.llm.map((l) => l.model).join(', ') || null),
    );
    const parts = [
      ['Speech to text', c.costUsd.sttUsd, colours.stt],
      ['Text to speech', c.costUsd.ttsUsd, colours.tts],
      ['LLM', c.costUsd.llmUsd, colours.llm],
      ['Telephony', c.costUsd.telephonyUsd, colours.telephony],
      ['Self-hosted servers', c.costUsd.selfHostedUsd, colours.selfHosted],
    ];
    if (c.costUsd.totalUsd === 0) {
      replace(componentSlot, empty('Nothing spent yet', 'Costs appear as calls connect, speak and listen.'));
      replace(ttsSlot, empty('No speech synthesised yet'));
    } else {
      if (!componentSlot.contains(byComponent.el)) replace(componentSlot, byComponent.el);
      if (!ttsSlot.contains(tts.el)) replace(ttsSlot, tts.el);
      byComponent.update({
        type: 'doughnut',
        data: { labels: parts.map((p) => p[0]), datasets: [{ data: parts.map((p) => p[1]), backgroundColor: parts.map((p) => p[2]), borderWidth: 0 }] },
        options: { cutout: '58%', plugins: { legend: { position: 'right' }, tooltip: { callbacks: { label: (i) => `${i.label}: ${usd(i.raw)}` } } } },
      });
      tts.update({
        type: 'bar',
        data: { labels: c.ttsComparison.map((p) => p.provider), datasets: [{ label: 'Cost of the same characters', data: c.ttsComparison.map((p) => p.costUsd), backgroundColor: [colours.tts, colours.neutral, colours.stt], borderRadius: 4 }] },
        options: { plugins: { legend: { display: false }, tooltip: { callbacks: { label: (i) => usd(i.raw) } } }, scales: { y: { beginAtZero: true, ticks: { callback: (v) => usd(Number(v)) } }, x: { grid: { display: false } } } },
      });
    }
    const p = c.prices;
    syncRows(
      usage.tbody,
      [
        { k: 'Speech to text', usage: `${seconds(c.usage.sttAudioS)} of audio`, price: `${usd(p.sttPerMinuteUsd)} / min`, cost: c.costUsd.sttUsd },
        { k: 'Text to speech', usage: `${count(c.usage.ttsCharacters)} characters`, price: `${usd(p.ttsPer1kCharactersUsd)} / 1k chars`, cost: c.costUsd.ttsUsd },
        ...c.usage.llm.map((l) => ({ k: `LLM ${l.model}`, usage: `${count(l.inputTokens)} in · ${count(l.outputTokens)} out tokens`, price: 'per model', cost: null })),
        { k: 'LLM (all models)', usage: '', price: '', cost: c.costUsd.llmUsd },
        { k: 'Telephony', usage: `${seconds(c.usage.connectedS)} connected`, price: `${usd(p.telephonyPerMinuteUsd)} / min`, cost: c.costUsd.telephonyUsd },
        { k: 'Self-hosted servers (amortised)', usage: `${seconds(c.usage.connectedS)} connected`, price: `${usd(p.selfHostedPerConnectedMinuteUsd)} / min`, cost: c.costUsd.selfHostedUsd },
      ],
      (r) => r.k,
      (r) => [h('td', {}, r.k), h('td', { class: 'muted' }, r.usage), h('td', { class: 'muted' }, r.price), h('td', { class: 'num' }, r.cost === null ? '' : usd(r.cost))],
    );
    source.textContent = `Prices: ${p.source}. Provider comparison: ${c.ttsComparison.map((t) => `${t.provider} $${t.per1MCharactersUsd}/1M (${t.source})`).join('; ')}.`;
  };
  ctx.every(5000, refresh);
}
