/**
 * The operations console end to end in headless Chromium, against the real stack with a
 * load-mode worker (the telephony simulator at the dial boundary; its simulated
 * conversations reach PostgreSQL through the stack's event bridge). Two campaigns are
 * made and started through the API as an integrator would: a short one that completes,
 * and a slow one that is still running while the pages are used. The test signs in
 * through the page and checks that each main page shows that real data, that controls
 * pause, resume and cancel the running campaign, that a viewer cannot, and that another
 * tenant's key sees none of it. Every page is screenshotted and the screenshots are
 * checked for blankness; any console error or failed request fails the test.
 *
 * Load mode has no media worker, so no turn metrics: a completed call's are written with
 * the event bridge's own `persistEvent`, as the bridge does for a media worker's events.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import type { OutcomeDistribution } from '../../activities/telephony-simulator.js';
import { persistEvent } from '../../workers/event-bridge.js';
import { startApi, type ApiHarness, type TestTenant } from '../helpers/api.js';
import { waitFor } from '../helpers/async.js';
import { drawnPixels, launchChromium, screenshot, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { loadCampaignConfig, loadModeWorker } from '../helpers/campaigns.js';
import { config } from '../helpers/env.js';
import { temporalClient } from '../helpers/temporal.js';

/**
 * Mostly answered, so there are conversations; voicemail and busy lines for the
 * dispositions (no unanswered calls: their ringing timeout is not simulated time).
 */
const distribution: OutcomeDistribution = { answered: 7, voicemail: 1, busy: 1, no_answer: 0, rejected: 0, failed: 0, opted_out: 0 };
/** Simulated time at 0.15: rings of 0.3-3 s and turns 0.3-0.9 s apart, slow enough to watch live. */
const timeScale = 0.15;
const noRedials = { busy: { maxAttempts: 1, delayS: 1 }, no_answer: { maxAttempts: 1, delayS: 1 }, voicemail: { maxAttempts: 1, delayS: 1 }, failed: { maxAttempts: 1, delayS: 1 } };

let temporal: Client;
let closeTemporal: (() => Promise<void>) | undefined;
let worker: Awaited<ReturnType<typeof loadModeWorker>> | undefined;
let workerRun: Promise<void> | undefined;
let api: ApiHarness;
let browser: Browser;
let tenant: TestTenant;
let otherTenant: TestTenant;
/** The short campaign, run to completion. */
let done: { id: string; name: string; contacts: number };
/** The slow campaign, running while the pages are used. */
let running: { id: string; name: string };

interface CallSummary {
  id: string;
  status: string;
  answeredAt: string | null;
}
interface CallDetail extends CallSummary {
  turns: { seq: number; role: string; text: string }[];
  analysis: { status: string; summary?: string | null } | null;
  costUsd: number | null;
  costBreakdownUsd: { totalUsd: number };
  turnMetrics: unknown[];
}

async function get<T>(path: string, key = tenant.keys.viewer): Promise<T> {
  const r = await api.request('GET', path, { key });
  assert.equal(r.status, 200, `GET ${path}: ${r.text.slice(0, 300)}`);
  return r.body as T;
}

async function createCampaign(name: string, contacts: number, pace: { callsPerSecond: number; maxConcurrentCalls: number }, firstNumber: number) {
  const { trunkId: _t, ...rest } = loadCampaignConfig({ ...pace, retry: noRedials });
  const created = await api.request('POST', '/v1/campaigns', { key: tenant.keys.operator, body: { name, config: { ...rest, trunkId: 'main', analysis: { goal: 'Renew the contract' } } } });
  assert.equal(created.status, 201, created.text);
  const id = (created.body as { id: string }).id;
  const csv = ['phone,time_zone,consent,first_name', ...Array.from({ length: contacts }, (_, i) => `+1415555${String(firstNumber + i)},America/Denver,yes,Name${i}`)].join('\n');
  const upload = await api.request('POST', `/v1/campaigns/${id}/contacts`, { key: tenant.keys.operator, raw: { contentType: 'text/csv', data: csv } });
  assert.equal((upload.body as { imported: number }).imported, contacts, upload.text);
  return id;
}

before(async () => {
  ({ client: temporal, close: closeTemporal } = await temporalClient());
  worker = await loadModeWorker({ timeScale, distribution });
  workerRun = worker.worker.run();
  workerRun.catch(() => undefined);
  api = await startApi({ temporal, taskQueue: worker.taskQueue });
  browser = await launchChromium();
  tenant = await api.newTenant();
  otherTenant = await api.newTenant();
  const trunk = await api.request('POST', '/v1/trunks', { key: tenant.keys.admin, body: { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 20, maxChannels: 20 } });
  assert.equal(trunk.status, 201, trunk.text);
  done = { id: await createCampaign('Spring renewals', 8, { callsPerSecond: 20, maxConcurrentCalls: 20 }, 3000), name: 'Spring renewals', contacts: 8 };
  running = { id: await createCampaign('Summer outreach', 60, { callsPerSecond: 0.5, maxConcurrentCalls: 2 }, 4000), name: 'Summer outreach' };
  for (const id of [done.id, running.id]) assert.equal((await api.request('POST', `/v1/campaigns/${id}/start`, { key: tenant.keys.operator, body: {} })).status, 202);
});

after(async () => {
  // The running campaign is cancelled by a test; if that failed, stop it here.
  await api?.request('POST', `/v1/campaigns/${running?.id}/cancel`, { key: tenant?.keys.admin, body: { reason: 'test over' } }).catch(() => undefined);
  await browser?.close();
  await api?.close();
  worker?.worker.shutdown();
  await workerRun;
  await worker?.close();
  await closeTemporal?.();
});

const consoleUrl = () => `${api.url}/console/`;

async function signIn(key: string): Promise<WatchedPage> {
  const w = await watchedPage(browser);
  await w.page.goto(consoleUrl());
  await w.page.fill('#api-key', key);
  await w.page.click('button[type=submit]');
  await w.page.waitForSelector('.page-title:text("Campaigns")');
  return w;
}

/** The page shows no error banner, its screenshot is not blank, and nothing went wrong in it. */
async function assertHealthy(w: WatchedPage, name: string): Promise<void> {
  assert.equal(await w.page.isVisible('.banner-error'), false, `${name}: error banner shown: ${await w.page.textContent('.banner-error').catch(() => '')}`);
  const shot = await screenshot(w.page, name);
  assert.ok(shot.colours >= 40, `${name}: only ${shot.colours} colours in ${shot.path}`);
  assert.ok(shot.foreground >= 0.05, `${name}: ${(shot.foreground * 100).toFixed(1)}% of ${shot.path} differs from the background`);
  assert.deepEqual(w.problems, [], `${name}: problems in the page`);
}

const usd = (v: number) => `$${v.toLocaleString('en-US', { minimumFractionDigits: v >= 100 ? 2 : v >= 1 ? 3 : 4, maximumFractionDigits: v >= 100 ? 2 : v >= 1 ? 3 : 4 })}`;
const statValue = (page: Page, label: string) => page.locator(`.stat:has(.stat-label:text-is("${label}")) .stat-value`).textContent();
const row = (page: Page, id: string) => page.locator(`tr[data-key="${id}"]`);

test('a wrong key is refused on the sign-in page with a clear message', async () => {
  const w = await watchedPage(browser);
  try {
    await w.page.goto(consoleUrl());
    const wrong = tenant.keys.admin.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    await w.page.fill('#api-key', wrong);
    await w.page.click('button[type=submit]');
    await w.page.waitForSelector('.form-error:visible');
    assert.match((await w.page.textContent('.form-error')) ?? '', /not accepted/);
    assert.equal(await w.page.isVisible('.sidebar'), false, 'still on the sign-in page');
    const shot = await screenshot(w.page, 'sign-in-refused');
    assert.ok(shot.colours >= 20 && shot.foreground >= 0.05, `sign-in page looks blank: ${JSON.stringify(shot)}`);
    // The browser reports the refused request itself; nothing else may go wrong.
    assert.ok(w.problems.length > 0 && w.problems.every((p) => /401/.test(p)), w.problems.join('\n'));
  } finally {
    await w.close();
  }
});

test('live calls page: a call of the running campaign, its transcript growing as turns happen', async () => {
  const w = await signIn(tenant.keys.viewer);
  try {
    const { page } = w;
    await page.click('a.nav-item[href="#/live"]');
    await page.waitForSelector('.page-title:text("Live calls")');
    // Follow live calls until one is seen gaining a turn while it is shown.
    const seen = new Map<string, { min: number; max: number }>();
    let grown: string | undefined;
    await waitFor(async () => {
      const watched = await page.locator('.live-heading a').textContent().catch(() => null);
      const status = await page.locator('.live-heading .pill').getAttribute('data-status').catch(() => null);
      const turns = await page.locator('.transcript .turn').count();
      if (watched && turns > 0) {
        const s = seen.get(watched) ?? { min: turns, max: turns };
        seen.set(watched, { min: Math.min(s.min, turns), max: Math.max(s.max, turns) });
        if (turns > s.min) grown = watched;
      }
      // The watched call has ended without being seen to grow: watch another.
      if (!grown && status === 'ended') await page.locator('.live-table button:not(.button-selected)').first().click({ timeout: 1000 }).catch(() => undefined);
      return grown !== undefined;
    }, 45_000, `no live call was seen gaining a turn (seen: ${JSON.stringify([...seen])})`);
    // What the page shows is the call's transcript as the API has it.
    const callId = decodeURIComponent((await page.locator('.live-heading a').getAttribute('href'))!.replace('#/calls/', ''));
    const shown = await page.locator('.transcript .turn-text').allTextContents();
    const call = await get<CallDetail>(`/v1/calls/${encodeURIComponent(callId)}`);
    assert.deepEqual(shown, call.turns.slice(0, shown.length).map((t) => t.text));
    // The telephony simulator's first line, by the outcome its seed picked for the call.
    assert.ok(['Simulated line 1.', 'Simulated voicemail greeting.', 'Please take me off your list.'].includes(shown[0] ?? ''), `first line: ${shown[0]}`);
    await assertHealthy(w, 'live-calls');
  } finally {
    await w.close();
  }
});

test('campaigns page: the controls pause and resume the running campaign', async () => {
  const w = await signIn(tenant.keys.operator);
  try {
    const { page } = w;
    await row(page, running.id).locator('[data-status=running]').waitFor();
    assert.match((await row(page, running.id).textContent()) ?? '', /Summer outreach/);
    await row(page, running.id).locator('button[data-action=pause]').click();
    await row(page, running.id).locator('.pill[data-status=paused]').waitFor();
    assert.equal((await get<{ status: string }>(`/v1/campaigns/${running.id}/stats`)).status, 'paused');
    assert.equal(await row(page, running.id).locator('button[data-action=pause]').isDisabled(), true, 'a paused campaign cannot be paused again');
    await row(page, running.id).locator('button[data-action=resume]').click();
    await row(page, running.id).locator('.pill[data-status=running]').waitFor();
    assert.equal((await get<{ status: string }>(`/v1/campaigns/${running.id}/stats`)).status, 'running');
    assert.deepEqual(w.problems, []);
  } finally {
    await w.close();
  }
});

test('campaigns page: a completed campaign with its final counts, and its own page with dispositions and calls', async () => {
  await waitFor(async () => (await get<{ status: string }>(`/v1/campaigns/${done.id}`)).status === 'completed', 60_000, 'the short campaign never completed');
  const w = await signIn(tenant.keys.operator);
  try {
    const { page } = w;
    const stats = await get<{ dials: number; costUsd: number; contacts: { total: number; done: number } }>(`/v1/campaigns/${done.id}/stats`);
    assert.deepEqual([stats.contacts.total, stats.contacts.done], [done.contacts, done.contacts]);
    const doneRow = row(page, done.id);
    await doneRow.locator('.pill[data-status=completed]').waitFor({ timeout: 10_000 });
    assert.equal(await doneRow.locator('.progress-label').textContent(), `${done.contacts} / ${done.contacts} · 100%`);
    const cells = await doneRow.locator('td').allTextContents();
    assert.equal(cells[3], String(stats.dials), 'dials');
    assert.equal(cells[5], usd(stats.costUsd), 'cost');
    assert.equal(await doneRow.locator('button[data-action=pause]').isDisabled(), true, 'a completed campaign has no controls');
    await row(page, running.id).locator('.progress-label').waitFor();
    await assertHealthy(w, 'campaigns');
    // Its own page: figures, dispositions chart and its calls.
    await doneRow.locator('a.link-strong').click();
    await page.waitForSelector(`.page-title:text("${done.name}")`);
    await page.waitForSelector('.calls-table tbody tr');
    assert.equal(await page.locator('.calls-table tbody tr').count(), (await get<{ items: unknown[] }>(`/v1/calls?campaignId=${done.id}&limit=25`)).items.length);
    await waitFor(async () => (await drawnPixels(page, '.chart-slot canvas'))[0]! > 500, 5_000, 'the dispositions chart was not drawn');
    await assertHealthy(w, 'campaign');
  } finally {
    await w.close();
  }
});

test('call page: transcript, analysis, cost by component, latency waterfall and the Temporal UI link', async () => {
  await waitFor(async () => (await get<{ status: string }>(`/v1/campaigns/${done.id}`)).status === 'completed', 60_000, 'the short campaign never completed');
  const calls = (await get<{ items: CallSummary[] }>(`/v1/calls?campaignId=${done.id}`)).items;
  let call: CallDetail | undefined;
  for (const c of calls.filter((x) => x.answeredAt)) {
    const detail = await get<CallDetail>(`/v1/calls/${encodeURIComponent(c.id)}`);
    if (detail.turns.length >= 2 && detail.analysis?.status === 'ok' && detail.costUsd !== null) call = detail;
  }
  assert.ok(call, 'an answered call with a transcript, an analysis and a cost');
  // Each agent turn's metrics, as a media worker reports them, through the bridge's writer.
  const agentTurns = call.turns.filter((t) => t.role === 'agent');
  for (const [i, t] of agentTurns.entries()) {
    const eouDelayMs = 180 + i * 40;
    const llmTtftMs = 320 + i * 25;
    const ttsTtfbMs = 150 + i * 10;
    await persistEvent(api.db, { v: 1, type: 'turn.metrics', callId: call.id, seq: 10_000 + t.seq, ts: new Date().toISOString(), eouDelayMs, sttMs: eouDelayMs - 40, llmTtftMs, ttsTtfbMs, voiceToVoiceMs: eouDelayMs + llmTtftMs + ttsTtfbMs + 35 });
  }
  const detail = await get<CallDetail>(`/v1/calls/${encodeURIComponent(call.id)}`);
  assert.equal(detail.turnMetrics.length, agentTurns.length);

  const w = await signIn(tenant.keys.viewer);
  try {
    const { page } = w;
    await page.goto(`${consoleUrl()}#/calls/${encodeURIComponent(call.id)}`);
    await page.waitForSelector('.transcript .turn');
    assert.deepEqual(await page.locator('.transcript .turn-text').allTextContents(), call.turns.map((t) => t.text));
    await page.waitForSelector('.facts dd');
    if (call.analysis?.summary) assert.ok((await page.locator('.facts').textContent())?.includes(call.analysis.summary), 'the analysis summary is shown');
    const total = page.locator('.cost-table tbody tr').last();
    assert.equal((await total.locator('td').allTextContents())[2], usd(detail.costBreakdownUsd.totalUsd));
    assert.equal(await page.locator('.latency-table tbody tr').count(), agentTurns.length);
    await waitFor(async () => (await drawnPixels(page, '.chart-slot canvas'))[0]! > 500, 5_000, 'the latency waterfall was not drawn');
    const href = await page.locator('a[data-link=temporal]').getAttribute('href');
    assert.equal(href, `${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(call.id)}`);
    await assertHealthy(w, 'call');
  } finally {
    await w.close();
  }
});

test('cost and latency dashboards draw their charts from the analytics API', async () => {
  const w = await signIn(tenant.keys.viewer);
  try {
    const { page } = w;
    const costs = await get<{ calls: number; costUsd: { totalUsd: number } }>(`/v1/analytics/costs?campaignId=${done.id}`);
    await page.goto(`${consoleUrl()}#/costs?campaignId=${done.id}&period=all`);
    await page.waitForSelector('.stat-value');
    await waitFor(async () => {
      const drawn = await drawnPixels(page, '.chart-slot canvas');
      return drawn.length === 2 && drawn.every((n) => n > 500);
    }, 10_000, 'the cost charts were not drawn');
    assert.equal(await statValue(page, 'Calls'), String(costs.calls));
    assert.equal(await statValue(page, 'Total cost'), usd(costs.costUsd.totalUsd));
    await assertHealthy(w, 'costs');

    const latency = await get<{ voiceToVoiceMs: { count: number } }>(`/v1/analytics/latency?campaignId=${done.id}`);
    assert.ok(latency.voiceToVoiceMs.count > 0, 'the seeded turn metrics are in the analytics');
    await page.click('a.nav-item[href="#/latency"]');
    await page.waitForSelector('.page-title:text("Latency")');
    await page.goto(`${consoleUrl()}#/latency?campaignId=${done.id}&period=all`);
    await waitFor(async () => (await statValue(page, 'Agent turns measured')) === String(latency.voiceToVoiceMs.count), 10_000, 'the latency page never showed the measured turns');
    await waitFor(async () => (await drawnPixels(page, '.chart-slot canvas'))[0]! > 500, 10_000, 'the latency chart was not drawn');
    await assertHealthy(w, 'latency');
  } finally {
    await w.close();
  }
});

test('a viewer sees the controls disabled; another tenant sees none of these campaigns', async () => {
  const viewer = await signIn(tenant.keys.viewer);
  try {
    const buttons = row(viewer.page, running.id).locator('button[data-action]');
    await buttons.first().waitFor();
    assert.deepEqual(await Promise.all((await buttons.all()).map((b) => b.isDisabled())), [true, true, true]);
    assert.equal(await viewer.page.locator('.role').getAttribute('data-role'), 'viewer');
    await assertHealthy(viewer, 'campaigns-viewer');
  } finally {
    await viewer.close();
  }
  const other = await signIn(otherTenant.keys.admin);
  try {
    await other.page.waitForSelector('.empty-title:text("No campaigns yet")');
    assert.equal(await other.page.locator(`tr[data-key="${done.id}"], tr[data-key="${running.id}"]`).count(), 0);
    await assertHealthy(other, 'campaigns-other-tenant');
    // Even by its address, the first tenant's campaign is not found for this key.
    await other.page.goto(`${consoleUrl()}#/campaigns/${done.id}`);
    await other.page.waitForSelector('.banner-error:visible');
    assert.match((await other.page.textContent('.banner-error')) ?? '', /Not found \(HTTP 404\)/);
    assert.ok(other.problems.length > 0 && other.problems.every((p) => /404/.test(p)), other.problems.join('\n'));
  } finally {
    await other.close();
  }
});

test('an operator cancels the running campaign from its page, with a reason', async () => {
  const w = await signIn(tenant.keys.operator);
  try {
    const { page } = w;
    await page.goto(`${consoleUrl()}#/campaigns/${running.id}`);
    await page.locator('button[data-action=cancel]:enabled').click();
    await page.fill('dialog input[name=reason]', 'Wrong contact list');
    await page.click('dialog button[type=submit]');
    // Stopping at once (calls in progress finish), then cancelled: the page shows either.
    await page.locator('.toolbar .pill[data-status=stopping], .toolbar .pill[data-status=cancelled]').waitFor({ timeout: 10_000 });
    const stats = await get<{ status: string; stopReason?: string }>(`/v1/campaigns/${running.id}/stats`);
    assert.ok(['stopping', 'cancelled'].includes(stats.status), stats.status);
    assert.equal(stats.stopReason, 'cancelled');
    assert.equal(await page.locator('button[data-action=cancel]').isDisabled(), true);
    assert.equal(await page.locator('button[data-action=resume]').isDisabled(), true);
    assert.equal(await page.isVisible('dialog'), false);
    assert.deepEqual(w.problems, []);
  } finally {
    await w.close();
  }
});

test('the console is served as static files: types, caching, no way out of its folder, config without secrets', async () => {
  const page = await fetch(`${api.url}/console/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const etag = page.headers.get('etag');
  assert.ok(etag);
  assert.equal((await fetch(`${api.url}/console/`, { headers: { 'if-none-match': etag } })).status, 304);
  for (const [path, type] of [['app.js', /^text\/javascript/], ['style.css', /^text\/css/], ['pages/call.js', /^text\/javascript/], ['vendor/chart.umd.js', /^text\/javascript/]] as const) {
    const r = await fetch(`${api.url}/console/${path}`);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type') ?? '', type, path);
  }
  assert.match((await fetch(`${api.url}/console/vendor/chart.umd.js`)).headers.get('cache-control') ?? '', /max-age=86400/);
  assert.equal((await fetch(`${api.url}/console`, { redirect: 'manual' })).headers.get('location'), '/console/');
  for (const path of ['%2e%2e/package.json', '..%2fpackage.json', '%2e%2e%2f%2e%2e%2fpackage.json', 'routes.ts', '../routes.ts', 'public/app.js']) {
    const r = await fetch(`${api.url}/console/${path}`);
    assert.equal(r.status, 404, `${path}: ${r.status}`);
  }
  const cfg = await fetch(`${api.url}/console/config.json`);
  assert.equal(cfg.headers.get('cache-control'), 'no-store');
  assert.deepEqual(await cfg.json(), { temporalUiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace });
});
