/**
 * `npm run console:screenshot`: makes `docs/console.png`, the README's picture of the
 * operations console, from a real campaign. Brings the stack up, runs a small load-mode
 * campaign (the telephony simulator at the dial boundary, its conversations through the
 * stack's event bridge) on a worker and an API of its own, opens one answered call's page
 * in headless Chromium and screenshots it.
 *
 * Load mode has no media worker and so no turn metrics: each agent turn's are written
 * with the event bridge's own `persistEvent`, with typical figures, so the waterfall has
 * something to draw. The tenant is `console-shot-<time>`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { chromium } from 'playwright-core';
import { pino } from 'pino';
import { issueApiKey } from '../api/api-keys.js';
import { createApiServer } from '../api/server.js';
import { persistEvent } from '../workers/event-bridge.js';
import { createOrchestrationWorker } from '../workers/orchestration.js';
import { createDb } from './db/schema.js';
import { stackUp } from './stack/stack.js';

const output = new URL('../docs/console.png', import.meta.url);
Runtime.install({ logger: new DefaultLogger('ERROR') });

const stackConfig = await stackUp(() => undefined);
const run = new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
const taskQueue = `console-shot-${run}`;
const tenantId = `console-shot-${run}`;
const config = {
  ...stackConfig,
  logLevel: 'warn' as const,
  telephony: { mode: 'simulated' as const, seed: run, timeScale: 0.05, distribution: { answered: 8, voicemail: 1, busy: 1, no_answer: 0, rejected: 0, failed: 0, opted_out: 0 } },
};

const connection = await Connection.connect({ address: config.temporal.address });
const temporal = new Client({ connection, namespace: config.temporal.namespace });
const db = createDb(config.postgres.url);
const redis = new Redis({ host: config.host, port: config.redis.port, maxRetriesPerRequest: 2 });
const { worker, close: closeWorker } = await createOrchestrationWorker(config, { taskQueue });
const working = worker.run();
const app = createApiServer({ config, temporal, db, redis, log: pino({ level: 'silent' }), taskQueue });
await app.listen({ host: config.host, port: 0 });
const url = `http://${config.host}:${(app.server.address() as AddressInfo).port}`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });

async function call<T>(method: string, path: string, key: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': contentType }) }, ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

try {
  await db.insertInto('tenants').values({ id: tenantId, name: 'Acme Energy' }).execute();
  const { key } = await issueApiKey(db, { tenantId, name: 'screenshot', role: 'admin', createdBy: 'cli' });
  await call('POST', '/v1/trunks', key, { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 20, maxChannels: 20 });
  const campaignConfig = {
    agent: { instructions: 'Offer the renewal and book a call back if asked.', greeting: 'Hello, this is Acme Energy.' },
    trunkId: 'main',
    window: { start: '00:00', end: '23:59' },
    callsPerSecond: 10,
    maxConcurrentCalls: 10,
    retry: { busy: { maxAttempts: 1, delayS: 1 }, voicemail: { maxAttempts: 1, delayS: 1 } },
    analysis: { goal: 'Renew the contract' },
  };
  const { id: campaignId } = await call<{ id: string }>('POST', '/v1/campaigns', key, { name: 'Spring renewals', config: campaignConfig });
  const csv = ['phone,time_zone,consent', ...Array.from({ length: 12 }, (_, i) => `+1415555${String(6000 + i)},America/Denver,yes`)].join('\n');
  await call('POST', `/v1/campaigns/${campaignId}/contacts`, key, csv, 'text/csv');
  await call('POST', `/v1/campaigns/${campaignId}/start`, key, {});
  const deadline = Date.now() + 120_000;
  while ((await call<{ status: string }>('GET', `/v1/campaigns/${campaignId}`, key)).status !== 'completed') {
    if (Date.now() > deadline) throw new Error('the campaign did not complete in 2 minutes');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  // The answered call with the longest conversation, once analysed.
  type Detail = { id: string; turns: { seq: number; role: string }[]; analysis: unknown };
  const { items } = await call<{ items: { id: string; answeredAt: string | null }[] }>('GET', `/v1/calls?campaignId=${campaignId}`, key);
  const details = await Promise.all(items.filter((c) => c.answeredAt).map((c) => call<Detail>('GET', `/v1/calls/${c.id}`, key)));
  const chosen = details.filter((d) => d.analysis).sort((a, b) => b.turns.length - a.turns.length)[0];
  if (!chosen) throw new Error('no answered, analysed call');
  for (const [i, t] of chosen.turns.filter((x) => x.role === 'agent').entries()) {
    const eouDelayMs = 190 + ((i * 53) % 120);
    const llmTtftMs = 290 + ((i * 71) % 160);
    const ttsTtfbMs = 140 + ((i * 29) % 60);
    await persistEvent(db, { v: 1, type: 'turn.metrics', callId: chosen.id, seq: 10_000 + t.seq, ts: new Date().toISOString(), eouDelayMs, sttMs: eouDelayMs - 45, llmTtftMs, ttsTtfbMs, voiceToVoiceMs: eouDelayMs + llmTtftMs + ttsTtfbMs + 30 });
  }

  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${url}/console/`);
  await page.fill('#api-key', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('.page-title:text("Campaigns")');
  await page.goto(`${url}/console/#/calls/${encodeURIComponent(chosen.id)}`);
  await page.waitForSelector('.latency-table tbody tr');
  await page.waitForSelector('.facts dd');
  await mkdir(new URL('.', output), { recursive: true });
  await writeFile(output, await page.screenshot({ fullPage: true }));
  console.log(`wrote docs/console.png (call ${chosen.id} of campaign ${campaignId}, tenant ${tenantId})`);
} finally {
  await browser.close();
  await app.close();
  worker.shutdown();
  await working;
  await closeWorker();
  await Promise.allSettled([db.destroy(), redis.quit(), connection.close()]);
}
