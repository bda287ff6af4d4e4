/**
 * The price table: the defaults price a call by hand-checkable arithmetic, and a
 * deployment's prices file overrides what it names, adds models, and is refused field by
 * field when malformed (at start-up, through the configuration).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { callCost, defaultPrices, loadPriceTable } from '../../activities/pricing.js';
import { ConfigError, loadConfig } from '../../deploy/config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kickcall-prices-'));
function pricesFile(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const usage = { sttAudioS: 90, ttsCharacters: 2000, llm: [{ model: 'my-llm', inputTokens: 1_000_000, outputTokens: 500_000 }], connectedS: 119.2 };

test('the defaults price every component, the deployment’s servers included', () => {
  const c = callCost(usage, defaultPrices);
  // 1.5 min × 0.0077; 2 × 0.03; unknown model at the default $2/$8 per 1M; ⌈119.2⌉ = 120 s = 2 min.
  const expected = { sttUsd: 0.01155, ttsUsd: 0.06, llmUsd: 2 + 4, telephonyUsd: 0.026, selfHostedUsd: 0.00018 };
  for (const [k, v] of Object.entries(expected)) assert.ok(Math.abs(c[k as keyof typeof c] - v) < 1e-12, `${k}: ${c[k as keyof typeof c]}`);
  assert.ok(Math.abs(c.totalUsd - Object.values(expected).reduce((a, b) => a + b, 0)) < 1e-12);
  assert.equal(loadPriceTable(undefined), defaultPrices, 'no file, the defaults');
});

test('a prices file overrides what it names and adds models; the rest stay the defaults', () => {
  const prices = loadPriceTable(pricesFile('contract.json', { ttsPer1kCharactersUsd: 0.015, llm: { 'my-llm': { inputPer1MTokensUsd: 0.5, outputPer1MTokensUsd: 1 } }, source: 'Acme contract 2026-10' }));
  const c = callCost(usage, prices);
  assert.ok(Math.abs(c.ttsUsd - 0.03) < 1e-12);
  assert.ok(Math.abs(c.llmUsd - (0.5 + 0.5)) < 1e-12);
  assert.equal(c.sttUsd, callCost(usage, defaultPrices).sttUsd);
  assert.deepEqual(prices.llm['gpt-4.1'], defaultPrices.llm['gpt-4.1'], 'default models kept');
  assert.match(prices.source, /^Acme contract 2026-10; otherwise list prices/);
});

test('a malformed prices file is refused at start-up, each bad field named', () => {
  const bad = pricesFile('bad.json', { ttsPer1kCharactersUsd: -1, llm: { x: { inputPer1MTokensUsd: 1 } }, tts: 3 });
  assert.throws(() => loadPriceTable(bad), (err: Error) => /ttsPer1kCharactersUsd/.test(err.message) && /llm\.x\.outputPer1MTokensUsd/.test(err.message) && /source/.test(err.message) && /tts/.test(err.message));
  assert.throws(() => loadPriceTable(pricesFile('broken.json', '{ "source": ')), /prices file .*broken\.json/);
  const env = { KICKCALL_STACK_DIR: dir, LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 'x'.repeat(32) };
  assert.throws(() => loadConfig({ ...env, KICKCALL_PRICES_FILE: bad }), (err: unknown) => err instanceof ConfigError && /KICKCALL_PRICES_FILE/.test(err.issues.join(" ")));
  assert.throws(() => loadConfig({ ...env, KICKCALL_PRICES_FILE: path.join(dir, 'missing.json') }), ConfigError);
  assert.equal(loadConfig({ ...env, KICKCALL_PRICES_FILE: pricesFile('ok.json', { sttPerMinuteUsd: 0.004, source: 'self-hosted Deepgram' }) }).prices.sttPerMinuteUsd, 0.004);
});
