/**
 * The caller simulator on the real LiveKit server: it speaks a phrasebook line into a
 * room; a second participant receives that audio over WebRTC (Opus), streams it to the
 * STT simulator through the Deepgram plugin and gets the line's text back. The same
 * participant then speaks as an "agent" and the caller's report records it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { initializeLogger, stt } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteTrack,
} from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import pino from 'pino';
import { createToneGenerator } from '../../media/audio.js';
import { CallerSimulator, createCallerToken } from '../../media/simulators/caller.js';
import { startDeepgramSimulator } from '../../media/simulators/deepgram-server.js';
import { defaultPhrasebook } from '../../media/simulators/phrasebook.js';
import type { RunningSimulator } from '../../media/simulators/server-base.js';
import type { DeepgramSettings } from '../../media/simulators/deepgram-server.js';
import { config, joinToken, uniqueName } from '../helpers/env.js';
import { disposeRtcRuntime } from '../../media/rtc-runtime.js';

const DEEPGRAM_PORT = 18093;
const STT_RATE = 16000;
const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);

let sim: RunningSimulator<DeepgramSettings>;
const roomName = uniqueName('caller-sim');
const listener = new Room();
let caller: CallerSimulator;
let callerTrack: Promise<RemoteTrack>;

before(async () => {
  initializeLogger({ pretty: false, level: 'error' });
  sim = await startDeepgramSimulator({ host: '127.0.0.1', port: DEEPGRAM_PORT, logger: pino({ level: 'warn' }), settings: { sttFinalizeDelayMs: 0 } });
  await rooms.createRoom({ name: roomName, emptyTimeout: 60 });
  callerTrack = new Promise((resolve) => {
    listener.on(RoomEvent.TrackSubscribed, (track, _pub, participant) => {
      if (track.kind === TrackKind.KIND_AUDIO && participant.identity === 'caller') resolve(track);
    });
  });
  await listener.connect(config.livekit.wsUrl, await joinToken(roomName, 'agent'), { autoSubscribe: true, dynacast: false });
  caller = new CallerSimulator({
    wsUrl: config.livekit.wsUrl,
    token: await createCallerToken({ apiKey: config.livekit.apiKey, apiSecret: config.livekit.apiSecret, room: roomName, identity: 'caller' }),
    agentIdentity: 'agent',
  });
  await caller.join();
});

after(async () => {
  await caller?.leave().catch(() => undefined);
  await listener.disconnect();
  await rooms.deleteRoom(roomName).catch(() => undefined);
  await sim?.close();
  await disposeRtcRuntime();
});

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

test('a line the caller speaks through LiveKit comes back from the STT simulator as its text', async () => {
  const phraseId = 'interested';
  const phrase = defaultPhrasebook.byId(phraseId);
  const track = await withTimeout(callerTrack, 10_000, 'the caller track never arrived');
  const sttStream = new deepgram.STT({ baseUrl: `ws://127.0.0.1:${DEEPGRAM_PORT}`, apiKey: 'test-key', sampleRate: STT_RATE }).stream();
  const audio = new AudioStream(track, { sampleRate: STT_RATE, numChannels: 1 });
  let forwarding = true;
  const forward = (async () => {
    for await (const frame of audio) {
      if (!forwarding) break;
      sttStream.pushFrame(frame);
    }
  })();

  const spoken = caller.say(phraseId);
  let text: string | undefined;
  try {
    await withTimeout(
      (async () => {
        for await (const ev of sttStream) {
          if (ev.type === stt.SpeechEventType.FINAL_TRANSCRIPT && ev.alternatives?.[0]?.text) {
            text = ev.alternatives[0].text;
            break;
          }
        }
      })(),
      20_000,
      'no final transcript for the spoken line',
    );
  } finally {
    // Also on failure: an open STT stream reconnects to the simulator and keeps the
    // process alive after the report.
    forwarding = false;
    sttStream.close();
    await forward.catch(() => undefined);
  }
  const line = await spoken;

  assert.equal(text, phrase.text);
  assert.equal(line.phraseId, phrase.id);
  assert.ok(line.endMs - line.startMs > 2000, `line lasted ${line.endMs - line.startMs} ms`);
  assert.deepEqual(caller.report().linesSpoken.map((l) => l.phraseId), [phrase.id]);
});

test('the caller records when the agent speaks', async () => {
  const source = new AudioSource(48_000, 1);
  const track = LocalAudioTrack.createAudioTrack('agent-voice', source);
  await listener.localParticipant!.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
  const tone = createToneGenerator({ frequencyHz: 300, sampleRate: 48_000, amplitude: 0.3 });
  const speakFrom = caller.now();
  // One second of "speech", then silence, in real time.
  for (let ms = 0; ms < 2500; ms += 10) {
    const samples = ms < 1000 ? tone(10) : new Int16Array(480);
    await source.captureFrame(new AudioFrame(samples, 48_000, 1, 480));
  }
  const heard = await caller.waitForAgentTurn({ afterMs: speakFrom, timeoutMs: 5000 });
  // Unpublish before closing the source: closing a source whose track is still
  // published corrupts rtc-node's native heap (see test/integration/livekit.test.ts).
  await listener.localParticipant!.unpublishTrack(track.sid!);
  await source.close();
  assert.ok(heard, 'the caller never heard the agent finish');
  const report = caller.report();
  const segment = report.agentSegments.find((s) => s.startMs >= speakFrom - 100);
  assert.ok(segment?.endMs !== undefined, JSON.stringify(report.agentSegments));
  const lengthMs = segment.endMs - segment.startMs;
  assert.ok(lengthMs > 700 && lengthMs < 1500, `agent segment of ${lengthMs} ms`);
  assert.ok(segment.peakRms > 3000, `peak rms ${segment.peakRms}`);
  assert.notEqual(report.greetingHeardAtMs, null);
});
