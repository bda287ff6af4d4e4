/**
 * The media profile's reading of a V8 CPU profile: self time lands on the frame sampled,
 * grouped by the npm package (scoped or not, the innermost node_modules) its code is in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packageOf, summariseProfile, type CpuProfile } from '../../bench/media/cpu-profile.js';

/** A profile node's call frame; only the name and the file matter to the summary. */
const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });

test('frames are grouped by the innermost package, Node built-ins, our folders or V8 itself', () => {
  assert.equal(packageOf('file:///w/node_modules/@livekit/rtc-node/dist/audio_stream.js', 'next'), '@livekit/rtc-node');
  assert.equal(packageOf('file:///w/node_modules/a/node_modules/ws/lib/receiver.js', 'onData'), 'ws');
  assert.equal(packageOf('node:internal/streams/readable', 'read'), 'node (built-in modules)');
  assert.equal(packageOf('file:///w/media/agent/reporter.ts', 'publish'), 'kickcall media/');
  assert.equal(packageOf('', '(garbage collector)'), '(garbage collector)');
});

test('self time is the time until the next sample, idle time is not busy time', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 4] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('infer', 'file:///w/node_modules/onnxruntime-node/dist/backend.js') },
      { id: 4, callFrame: frame('publish', 'file:///w/media/events/publisher.ts') },
    ],
    startTime: 0,
    endTime: 10_000,
    // 2 ms idle, 6 ms in onnxruntime, 2 ms in ours (each delta belongs to the sample before it).
    samples: [2, 3, 3, 4, 2],
    timeDeltas: [0, 2000, 3000, 3000, 2000],
  };
  const s = summariseProfile(profile);
  assert.equal(s.wallMs, 10);
  assert.equal(s.busyMs, 8);
  assert.deepEqual(s.byPackage, [
    { name: 'onnxruntime-node', ms: 6, share: 0.6 },
    { name: 'kickcall media/', ms: 2, share: 0.2 },
  ]);
  assert.equal(s.topFunctions[0]!.name, 'infer onnxruntime-node:1');
});

test("time with Kickcall's product code on the stack counts its library calls, not the benchmark's frames, split at set-up", () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 6] },
      { id: 2, callFrame: frame('(idle)') },
      // The benchmark's wrapper (bench/media/...) is not product code; the agent it calls is.
      { id: 3, callFrame: frame('entry', 'file:///w/bench/media/profiled-agent.ts'), children: [4] },
      { id: 4, callFrame: frame('publish', 'file:///w/media/events/publisher.ts'), children: [5] },
      { id: 5, callFrame: frame('encode', 'file:///w/node_modules/@nats-io/nats-core/lib/core.js') },
      { id: 6, callFrame: frame('pushFrame', 'file:///w/node_modules/@livekit/agents/dist/utils.js') },
    ],
    startTime: 0,
    endTime: 12_000_000,
    // 1 ms of set-up publishing at t=1 ms; then, past the 5 s set-up window, 2 ms of a
    // NATS encode called by our publish, 3 ms of framework, 1 ms of the bench wrapper.
    samples: [4, 2, 5, 6, 3, 2],
    timeDeltas: [1000, 1000, 6_000_000, 2000, 3000, 1000],
  };
  const s = summariseProfile(profile);
  assert.deepEqual(s.underKickcall, { setUpMs: 1, callMs: 2 });
});
