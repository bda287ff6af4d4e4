/**
 * LiveKit server (real, loopback): a room is created through the server API, two
 * rtc-node participants join over WebRTC, one publishes a tone and the other hears it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
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
import { createToneGenerator, rms } from '../../media/audio.js';
import { withTimeout } from '../helpers/async.js';
import { config, joinToken, uniqueName } from '../helpers/env.js';
import { disposeRtcRuntime } from '../../media/rtc-runtime.js';

const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
const SAMPLE_RATE = 48_000;
const FRAME_MS = 10;

// rtc-node's native runtime keeps the process alive until it is disposed.
after(() => disposeRtcRuntime());

test('a participant hears another participant’s audio through a LiveKit room', async (t) => {
  const roomName = uniqueName('lk-audio');
  await rooms.createRoom({ name: roomName, emptyTimeout: 60 });
  const speaker = new Room();
  const listener = new Room();
  const source = new AudioSource(SAMPLE_RATE, 1);
  // Native resources go in the order they were made: leave the room first, then close
  // the audio source (closing a source whose track is still published corrupts
  // rtc-node's heap), then let the module-level hook dispose of the runtime.
  after(async () => {
    await speaker.disconnect();
    await listener.disconnect();
    await source.close();
    await rooms.deleteRoom(roomName).catch(() => undefined);
  });

  // The listener subscribes first so it sees the track as soon as it is published.
  const subscribed = new Promise<RemoteTrack>((resolve) => {
    listener.on(RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === TrackKind.KIND_AUDIO) resolve(track);
    });
  });
  await listener.connect(config.livekit.wsUrl, await joinToken(roomName, 'listener'), { autoSubscribe: true, dynacast: false });
  await speaker.connect(config.livekit.wsUrl, await joinToken(roomName, 'speaker'), { autoSubscribe: false, dynacast: false });

  const listed = await rooms.listParticipants(roomName);
  assert.deepEqual(listed.map((p) => p.identity).sort(), ['listener', 'speaker']);

  const track = LocalAudioTrack.createAudioTrack('tone', source);
  await speaker.localParticipant!.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));

  // Speak a 440 Hz tone in real time until the listener has heard enough or time is up.
  const tone = createToneGenerator({ frequencyHz: 440, sampleRate: SAMPLE_RATE, amplitude: 0.5 });
  let speaking = true;
  const speaking$ = (async () => {
    while (speaking) {
      const samples = tone(FRAME_MS);
      await source.captureFrame(new AudioFrame(samples, SAMPLE_RATE, 1, samples.length));
    }
  })();

  const remote = await withTimeout(subscribed, 10_000, 'listener never subscribed to the tone');
  const levels: number[] = [];
  const stream = new AudioStream(remote, { sampleRate: SAMPLE_RATE, numChannels: 1 });
  const deadline = Date.now() + 10_000;
  for await (const frame of stream) {
    levels.push(rms(frame.data));
    // Opus needs a few frames to ramp up; half a second of loud frames is proof enough.
    if (levels.filter((l) => l > 3000).length >= 50 || Date.now() > deadline) break;
  }
  speaking = false;
  await speaking$;

  const loud = levels.filter((l) => l > 3000).length;
  t.diagnostic(`frames received: ${levels.length}, loud frames: ${loud}, peak rms: ${Math.round(Math.max(...levels))}`);
  assert.ok(loud >= 50, `expected at least 50 loud frames, got ${loud} of ${levels.length}`);
  // A 0.5-amplitude sine has an RMS of about 11,585; opus keeps it close.
  assert.ok(Math.max(...levels) > 8000, 'the tone arrived far quieter than it was sent');
});
