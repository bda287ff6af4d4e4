/**
 * The campaign benchmark's second-by-second CPU readings: the machine's busy cores stay
 * within what it has while a loop keeps one core busy, and per-minute means line up with
 * the minutes of the lag table.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { cpuByMinute, startCpuSampler, type CpuSample } from '../../bench/campaign/cpu.js';
import { lagByMinute } from '../../bench/campaign/helpers.js';

test('a busy loop shows in this process’s tree and the machine’s cores, never past the machine', async () => {
  const sampler = startCpuSampler({ self: process.pid }, 200);
  // In 20 ms slices, so the sampler's timer runs between them.
  const until = Date.now() + 1_100;
  while (Date.now() < until) {
    const slice = Date.now() + 20;
    while (Date.now() < slice) Math.sqrt(Math.random());
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 250));
  const samples = sampler.stop();
  assert.ok(samples.length >= 4, `${samples.length} samples`);
  const busiest = Math.max(...samples.map((s) => s.cores.self!));
  assert.ok(busiest > 0.5, `the loop kept a core busy: ${busiest}`);
  for (const s of samples) {
    assert.ok(s.cores.machineBusy >= s.cores.self! - 0.2 && s.cores.machineBusy <= availableParallelism() + 0.2, JSON.stringify(s.cores));
  }
});

test('per-minute CPU means line up with the lag table’s minutes, counted from the first call', () => {
  const t0 = Date.parse('2026-12-06T10:00:00Z');
  const sample = (atS: number, worker: number): CpuSample => ({ atMs: t0 + atS * 1000, cores: { worker, machineBusy: worker + 0.5, machineSteal: 0, machineIowait: 0 } });
  const samples = [sample(-5, 9), sample(10, 0.2), sample(50, 0.4), sample(70, 1.5)];
  const rows = [
    { created_at: new Date(t0), scheduling_lag_ms: 60 },
    { created_at: new Date(t0 + 30_000), scheduling_lag_ms: 80 },
    { created_at: new Date(t0 + 65_000), scheduling_lag_ms: 900 },
  ];
  const minutes = lagByMinute(rows, (first) => cpuByMinute(samples, first));
  assert.deepEqual(
    minutes.map((m) => [m.minute, m.lag.n, m.cpuCores?.worker, m.machineBusyMaxCores]),
    [
      [0, 2, 0.3, 0.9],
      [1, 1, 1.5, 2],
    ],
    'the sample before the first call is left out',
  );
});
