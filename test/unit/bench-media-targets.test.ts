/**
 * The media benchmark judges "our layer adds under 5 ms over a bare session" on the
 * agents' own voice-to-voice at each level where both agents measured turns, and on what
 * the caller heard otherwise (a level where one side measured none, runs from before the
 * bare session measured its turns).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Comparison } from '../../bench/media/analyze.js';
import { judgeTargets, type LevelResult, type MediaBenchResults } from '../../bench/media/report.js';

const comparison = (addedP50Ms: number): Comparison => ({ addedP50Ms, addedP95Ms: addedP50Ms, voiceToVoiceP50Ratio: 1, voiceToVoiceP95Ratio: 1 });

function level(calls: number, heardMs: number, agentMs?: number): LevelResult {
  const variant = { latency: { pipelineOverheadMs: { p95: 400 }, callsCompleted: calls } };
  return {
    calls,
    ours: variant,
    bare: variant,
    comparison: comparison(heardMs),
    ...(agentMs === undefined ? {} : { agentSideComparison: comparison(agentMs) }),
  } as unknown as LevelResult;
}

const results = (levels: LevelResult[]) => ({ machine: { nproc: 2 }, levels }) as unknown as MediaBenchResults;
const layerTarget = (r: MediaBenchResults) => judgeTargets(r).find((t) => t.name.startsWith('our layer'))!;

test('judged on the agents’ own voice-to-voice where both measured it', () => {
  const t = layerTarget(results([level(1, 56, 2), level(4, -31, 3.5)]));
  assert.equal(t.met, true);
  assert.equal(t.measured, '1 calls: 2 ms (heard: 56 ms); 4 calls: 3.5 ms (heard: -31 ms)');
});

test('one level over 5 ms agent-side fails the target, whatever the caller heard', () => {
  assert.equal(layerTarget(results([level(1, -40, 2), level(4, -10, 12)])).met, false);
});

test('a level without the agent side is judged on what the caller heard', () => {
  const t = layerTarget(results([level(1, 56, 2), level(4, 30)]));
  assert.equal(t.measured, '1 calls: 2 ms (heard: 56 ms); 4 calls: 30 ms (heard; no agent-side turns)');
  assert.equal(t.met, false);
  assert.equal(layerTarget(results([level(1, 56, 2), level(4, 3)])).met, true);
});
