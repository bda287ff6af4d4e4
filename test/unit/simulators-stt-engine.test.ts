/**
 * The STT simulator's ear, without a network: audio in, Deepgram events out. The
 * transcript must follow the audio — the code that was heard, the speech after it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concatSamples, createToneGenerator } from '../../media/audio.js';
import { renderToneCode } from '../../media/simulators/dtmf.js';
import { defaultPhrasebook } from '../../media/simulators/phrasebook.js';
import { ListenEngine, type ListenEvent, type ListenOptions } from '../../media/simulators/stt-engine.js';
import { renderUtterance } from '../../media/simulators/utterance.js';

const RATE = 16000;
const base: ListenOptions = {
  sampleRate: RATE,
  endpointingMs: 25,
  interimResults: true,
  utteranceEndMs: 1000,
  vadEvents: true,
  punctuate: true,
};

function silence(ms: number): Int16Array {
  return new Int16Array((RATE * ms) / 1000);
}

const join = (...parts: Int16Array[]): Int16Array => concatSamples(parts);

/** Feeds audio in 100 ms messages, as the Deepgram plugin sends it. */
function run(engine: ListenEngine, audio: Int16Array): ListenEvent[] {
  const events: ListenEvent[] = [];
  for (let off = 0; off < audio.length; off += RATE / 10) events.push(...engine.push(audio.subarray(off, off + RATE / 10)));
  return events;
}

const finals = (events: ListenEvent[]) => events.filter((e) => e.type === 'Results' && e.isFinal) as Array<Extract<ListenEvent, { type: 'Results' }>>;

test('a coded line is transcribed as its phrase, once, with speech_final', async () => {
  const phrase = defaultPhrasebook.byId('ask_human');
  const audio = join(silence(300), await renderUtterance(phrase, RATE), silence(1500));
  const events = run(new ListenEngine(base), audio);
  const f = finals(events);
  assert.equal(f.length, 1);
  assert.equal(f[0]!.transcript, phrase.text);
  assert.equal(f[0]!.speechFinal, true);
  assert.deepEqual(f[0]!.words.map((w) => w.punctuated_word).join(' '), phrase.text);
  assert.equal(events[0]!.type, 'SpeechStarted');
  assert.ok(events.some((e) => e.type === 'Results' && !e.isFinal), 'interim results while speaking');
  assert.ok(events.findIndex((e) => e.type === 'UtteranceEnd') > events.indexOf(f[0]!), 'UtteranceEnd after the final');
});

test('speech with no code is a final with an empty transcript', async () => {
  const phrase = defaultPhrasebook.byId('ask_human');
  const withCode = await renderUtterance(phrase, RATE);
  // Cut the code off: the same speech, but nothing identifies it.
  const codeSamples = renderToneCode(phrase.code, RATE).length;
  const audio = join(silence(300), withCode.subarray(codeSamples), silence(1500));
  const f = finals(run(new ListenEngine(base), audio));
  assert.equal(f.length, 1);
  assert.equal(f[0]!.transcript, '');
});

test('a beep (not DTMF) is noise: empty final, no UtteranceEnd', () => {
  const beep = createToneGenerator({ frequencyHz: 1000, sampleRate: RATE, amplitude: 0.3 })(500);
  const events = run(new ListenEngine(base), join(silence(200), beep, silence(1500)));
  assert.deepEqual(finals(events).map((f) => f.transcript), ['']);
  assert.equal(events.filter((e) => e.type === 'UtteranceEnd').length, 0);
});

test('a code whose # was lost still names its line; one missing a digit does not', async () => {
  const phrase = defaultPhrasebook.byId('who_is_this');
  const line = await renderUtterance(phrase, RATE);
  const toneSamples = (RATE * 70) / 1000;
  const slot = toneSamples + (RATE * 40) / 1000;
  /** The line with its key at `index` (0 is the `*`) silenced. */
  const without = (index: number) => {
    const copy = line.slice();
    copy.fill(0, index * slot, index * slot + toneSamples);
    return copy;
  };
  const heard = (audio: Int16Array) => finals(run(new ListenEngine(base), join(silence(300), audio, silence(1500)))).map((f) => f.transcript);
  assert.deepEqual(heard(without(4)), [phrase.text], 'the # silenced');
  const engine = new ListenEngine(base);
  finals(run(engine, join(silence(300), without(2), silence(1500))));
  assert.deepEqual(engine.missed.map((m) => [m.cause, m.keys]), [['unknown_code', '*15#']], 'a digit silenced: no guess, and the miss says what was heard');
});

test('an unknown code yields an empty transcript', async () => {
  const audio = join(silence(200), renderToneCode('777', RATE), silence(150), (await renderUtterance(defaultPhrasebook.byId('hello'), RATE)).subarray(renderToneCode('101', RATE).length), silence(1500));
  assert.deepEqual(finals(run(new ListenEngine(base), audio)).map((f) => f.transcript), ['']);
});

test('two lines give two finals in order', async () => {
  const a = defaultPhrasebook.byId('interested');
  const b = defaultPhrasebook.byId('not_interested');
  const audio = join(await renderUtterance(a, RATE), silence(1200), await renderUtterance(b, RATE), silence(1200));
  assert.deepEqual(finals(run(new ListenEngine(base), audio)).map((f) => f.transcript), [a.text, b.text]);
});

test('no final before the endpointing silence has passed', async () => {
  const phrase = defaultPhrasebook.byId('hello');
  const engine = new ListenEngine({ ...base, endpointingMs: 800 });
  const spoken = run(engine, join(await renderUtterance(phrase, RATE), silence(500)));
  assert.equal(finals(spoken).length, 0);
  assert.equal(finals(run(engine, silence(400))).length, 1);
});

test('Finalize flushes a pending utterance, marked from_finalize', async () => {
  const phrase = defaultPhrasebook.byId('hello');
  const engine = new ListenEngine(base);
  run(engine, await renderUtterance(phrase, RATE));
  const [final] = engine.finalize();
  assert.ok(final?.type === 'Results' && final.isFinal && final.fromFinalize && final.transcript === phrase.text);
});

test('idle wall time ends an utterance when the client stops sending', async () => {
  const phrase = defaultPhrasebook.byId('hello');
  const engine = new ListenEngine(base);
  run(engine, join(await renderUtterance(phrase, RATE), silence(50)));
  assert.equal(finals(engine.idle(100)).length, 0);
  assert.equal(finals(engine.idle(400))[0]?.transcript, phrase.text);
});

test('without punctuate the transcript is bare lower-case words', async () => {
  const phrase = defaultPhrasebook.byId('ask_human');
  const audio = join(await renderUtterance(phrase, RATE), silence(1500));
  const f = finals(run(new ListenEngine({ ...base, punctuate: false }), audio));
  assert.equal(f[0]?.transcript, 'can i speak to a human please');
});

test('audio seconds count what was received', () => {
  const engine = new ListenEngine(base);
  run(engine, silence(2500));
  assert.equal(engine.audioSeconds, 2.5);
});
