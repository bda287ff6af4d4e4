// The dashboards' filter: one campaign or all, and a period. Kept in the URL's hash, so
// a filtered dashboard can be bookmarked or shared.

import { api, query } from './api.js';
import { h } from './dom.js';

const periods = [
  { id: '24h', label: 'Last 24 hours', hours: 24 },
  { id: '7d', label: 'Last 7 days', hours: 24 * 7 },
  { id: '30d', label: 'Last 30 days', hours: 24 * 30 },
  { id: 'all', label: 'All time', hours: null },
];

/** The analytics query for the page's filter, and the filter's controls in the header. */
export function dashboardFilter(ctx, path) {
  const campaignId = ctx.query.get('campaignId') ?? '';
  const period = periods.find((p) => p.id === ctx.query.get('period')) ?? periods[1];
  const go = () => ctx.navigate(`#${path}${query({ campaignId: campaignSelect.value, period: periodSelect.value })}`);
  const campaignSelect = h('select', { 'aria-label': 'Campaign', onchange: go }, h('option', { value: '' }, 'All campaigns'));
  const periodSelect = h('select', { 'aria-label': 'Period', onchange: go }, periods.map((p) => h('option', { value: p.id, selected: p === period }, p.label)));
  ctx.actions.replaceChildren(campaignSelect, periodSelect);
  void ctx.run(async () => {
    const page = await api(`/v1/campaigns${query({ limit: 100 })}`);
    for (const c of page.items) campaignSelect.append(h('option', { value: c.id, selected: c.id === campaignId }, c.name));
  });
  const from = period.hours === null ? undefined : new Date(Date.now() - period.hours * 3_600_000).toISOString();
  return { analyticsQuery: query({ campaignId, from }), label: `${period.label.toLowerCase()}${campaignId ? ', one campaign' : ', all campaigns'}` };
}
