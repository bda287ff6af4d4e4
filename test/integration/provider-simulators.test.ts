/**
 * The provider simulators driven by the real client code: the `@livekit/agents` Deepgram
 * and OpenAI plugins pointed at them through their base URLs. The simulators run in this
 * process on test-only ports.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { APIStatusError, initializeLogger, llm, stt, tts } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as openai from '@livekit/agents-plugin-openai';
import { AudioFrame } from '@livekit/rtc-node';
import pino from 'pino';
import WebSocket from 'ws';
import { rms } from '../../media/audio.js';
import { decodeSamples, encodeSamples } from '../../media/simulators/codecs.js';
import { startProviderSimulators, type ProviderSimulators } from '../../media/simulators/index.js';
import { defaultPhrasebook } from '../../media/simulators/phrasebook.js';
import { resample } from '../../media/simulators/resample.js';
import { renderUtterance } from '../../media/simulators/utterance.js';

const DEEPGRAM_PORT = 18091;
const OPENAI_PORT = 18092;
const deepgramHttp = `http://127.0.0.1:${DEEPGRAM_PORT}`;
const deepgramWs = `ws://127.0.0.1:${DEEPGRAM_PORT}`;
const openaiBase = `http://127.0.0.1:${OPENAI_PORT}/v1`;
const API_KEY = 'test-key';

let sims: ProviderSimulators;

before(async () => {
  // The plugins log through the agents framework's logger, which must exist first.
  initializeLogger({ pretty: false, level: 'error' });
  sims = await startProviderSimulators({
    host: '127.0.0.1',
    deepgramPort: DEEPGRAM_PORT,
    openaiPort: OPENAI_PORT,
    logger: pino({ level: 'warn' }),
    // Fast but not instant: tests stay quick and still see streaming behaviour.
    deepgram: { sttFinalizeDelayMs: 0, ttsFirstByteMs: 50, ttsSpeedFactor: 10 },
    openai: { ttftMs: 20, tokensPerSecond: 500 },
  });
});

after(async () => {
  await sims.close();
});

beforeEach(() => {
  sims.deepgram.control.reset();
  sims.openai.control.reset();
});

async function postConfig(base: string, body: unknown): Promise<Response> {
  return fetch(`${base}/_sim/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

/** Caller-simulator audio: silence, tone code + espeak speech, silence. */
async function callerAudio(phraseId: string, sampleRate: number): Promise<Int16Array> {
  const line = await renderUtterance(defaultPhrasebook.byId(phraseId), sampleRate);
  const audio = new Int16Array(sampleRate * 0.3 + line.length + sampleRate * 1.5);
  audio.set(line, sampleRate * 0.3);
  return audio;
}

test('health and admin API on both ports', async () => {
  for (const port of [DEEPGRAM_PORT, OPENAI_PORT]) {
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok');
  }
  const bad = await postConfig(deepgramHttp, { settings: { ttsFirstByteMs: -5 } });
  assert.equal(bad.status, 400);
  const unknown = await postConfig(openaiBase.replace('/v1', ''), { settings: { nope: 1 } });
  assert.equal(unknown.status, 400);
  const ok = await postConfig(deepgramHttp, { settings: { ttsFirstByteMs: 75 }, faults: [{ kind: 'http_503', count: 2 }] });
  assert.equal(ok.status, 200);
  const current = (await (await fetch(`${deepgramHttp}/_sim/config`)).json()) as { settings: { ttsFirstByteMs: number }; faults: unknown[] };
  assert.equal(current.settings.ttsFirstByteMs, 75);
  assert.equal(current.faults.length, 1);
});

test('deepgram.STT stream transcribes caller-simulator audio into the phrase', async () => {
  const phrase = defaultPhrasebook.byId('ask_human');
  const sampleRate = 16000;
  const audio = await callerAudio(phrase.id, sampleRate);
  const sttClient = new deepgram.STT({ baseUrl: deepgramWs, apiKey: API_KEY, sampleRate, utteranceEndMs: 1000 });
  const stream = sttClient.stream();
  const frameSamples = sampleRate / 100;
  const feeding = (async () => {
    for (let off = 0; off + frameSamples <= audio.length; off += frameSamples) {
      stream.pushFrame(new AudioFrame(audio.slice(off, off + frameSamples), sampleRate, 1, frameSamples));
      // About 4x real time: fast, yet the socket carries a stream, not one burst.
      if (off % (frameSamples * 10) === 0) await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const seen: stt.SpeechEventType[] = [];
  let finalText: string | undefined;
  await withTimeout(
    (async () => {
      for await (const ev of stream) {
        seen.push(ev.type);
        if (ev.type === stt.SpeechEventType.FINAL_TRANSCRIPT) finalText = ev.alternatives?.[0]?.text;
        if (ev.type === stt.SpeechEventType.END_OF_SPEECH) break;
      }
    })(),
    15_000,
    'no end of speech from the STT simulator',
  );
  await feeding;
  stream.close();
  assert.equal(finalText, phrase.text);
  assert.ok(seen.includes(stt.SpeechEventType.START_OF_SPEECH));
  assert.ok(seen.includes(stt.SpeechEventType.INTERIM_TRANSCRIPT), 'interim results while speaking');
  const stats = sims.deepgram.control.stats;
  assert.equal(stats.listenConnections, 1);
  assert.equal(stats.finalTranscripts, 1);
  assert.ok((stats.listenAudioSeconds ?? 0) > 2, `audio seconds ${stats.listenAudioSeconds}`);
});

test('streaming STT over µ-law at 8 kHz, with Metadata.duration on CloseStream', async () => {
  const phrase = defaultPhrasebook.byId('not_interested');
  const audio = await callerAudio(phrase.id, 8000);
  const ws = new WebSocket(`${deepgramWs}/v1/listen?model=nova-3&encoding=mulaw&sample_rate=8000&channels=1&endpointing=300&interim_results=false&punctuate=true`, {
    headers: { Authorization: `Token ${API_KEY}` },
  });
  const messages: Array<Record<string, unknown>> = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const bytes = encodeSamples(audio, 'mulaw');
  for (let off = 0; off < bytes.length; off += 800) ws.send(bytes.subarray(off, off + 800));
  ws.send(JSON.stringify({ type: 'CloseStream' }));
  assert.equal(await withTimeout(closed, 10_000, 'stream never closed'), 1000);
  const finals = messages.filter((m) => m.type === 'Results' && m.is_final === true);
  const transcripts = finals.map((m) => (m.channel as { alternatives: Array<{ transcript: string }> }).alternatives[0]!.transcript);
  assert.deepEqual(transcripts, [phrase.text]);
  const metadata = messages.find((m) => m.type === 'Metadata');
  assert.equal(metadata?.duration, Math.round((audio.length / 8000) * 1000) / 1000);
});

test('deepgram.TTS stream produces audible speech at the requested rate', async () => {
  const sampleRate = 16000;
  const ttsClient = new deepgram.TTS({ baseUrl: deepgramHttp, apiKey: API_KEY, sampleRate });
  const stream = ttsClient.stream();
  const text = 'Hello, thanks for taking my call. I will be brief.';
  stream.pushText(text);
  stream.flush();
  stream.endInput();
  const chunks: Int16Array[] = [];
  await withTimeout(
    (async () => {
      for await (const ev of stream) {
        if (ev === tts.SynthesizeStream.END_OF_STREAM) break;
        assert.equal(ev.frame.sampleRate, sampleRate);
        chunks.push(ev.frame.data.slice());
      }
    })(),
    15_000,
    'TTS stream did not finish',
  );
  stream.close();
  const samples = Int16Array.from(chunks.flatMap((c) => [...c]));
  const seconds = samples.length / sampleRate;
  assert.ok(seconds > 1.5 && seconds < 8, `plausible duration for ${text.length} characters, got ${seconds}s`);
  assert.ok(rms(samples) > 500, `audible, got rms ${rms(samples)}`);
  // The plugin sends each sentence with a trailing space; the simulator counts what it got.
  const chars = sims.deepgram.control.stats.speakCharacters ?? 0;
  assert.ok(chars >= text.length && chars <= text.length + 2, `characters counted: ${chars}`);
});

test('TTS REST (the plugin’s ChunkedStream request) returns raw audio in each encoding', async () => {
  // deepgram.TTS.synthesize() in plugin 1.9.0 always dials HTTPS on port 443, so it cannot
  // reach any other base URL; this sends the exact request it would send.
  const text = 'Your appointment is confirmed.';
  for (const [encoding, rate] of [['linear16', 24000], ['mulaw', 8000]] as const) {
    const url = `${deepgramHttp}/v1/speak?sample_rate=${rate}&model=aura-2-andromeda-en&encoding=${encoding}&container=none&mip_opt_out=false`;
    const res = await fetch(url, { method: 'POST', headers: { Authorization: `Token ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
    assert.equal(res.status, 200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const samples = decodeSamples(bytes, encoding);
    const seconds = samples.length / rate;
    assert.ok(seconds > 1 && seconds < 5, `${encoding}: ${seconds}s`);
    assert.ok(rms(samples) > 500, `${encoding}: audible`);
  }
  const missingKey = await fetch(`${deepgramHttp}/v1/speak`, { method: 'POST', body: JSON.stringify({ text }) });
  assert.equal(missingKey.status, 401);
});

test('TTS WebSocket: Flushed carries the sequence id, Clear answers Cleared', async () => {
  const ws = new WebSocket(`${deepgramWs}/v1/speak?model=aura-2-andromeda-en&encoding=linear16&sample_rate=24000`, {
    headers: { Authorization: `Token ${API_KEY}` },
  });
  const json: Array<Record<string, unknown>> = [];
  let audioBytes = 0;
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) audioBytes += data.length;
    else json.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const waitFor = (type: string) =>
    withTimeout(
      new Promise<Record<string, unknown>>((resolve) => {
        const check = () => {
          const m = json.find((x) => x.type === type);
          if (m) resolve(m);
          else setTimeout(check, 20);
        };
        check();
      }),
      10_000,
      `no ${type}`,
    );
  ws.send(JSON.stringify({ type: 'Speak', text: 'First sentence. ' }));
  ws.send(JSON.stringify({ type: 'Flush' }));
  assert.equal((await waitFor('Flushed')).sequence_id, 0);
  assert.ok(audioBytes > 24000, 'audio before Flushed');
  ws.send(JSON.stringify({ type: 'Clear' }));
  assert.equal((await waitFor('Cleared')).type, 'Cleared');
  assert.ok(json.some((m) => m.type === 'Metadata'));
  ws.send(JSON.stringify({ type: 'Close' }));
  await withTimeout(new Promise((resolve) => ws.on('close', resolve)), 5000, 'socket did not close');
});

test('TTS WebSocket: a complete sentence is spoken before Flush, a partial one waits for it', async () => {
  const ws = new WebSocket(`${deepgramWs}/v1/speak?model=aura-2-andromeda-en&encoding=linear16&sample_rate=24000`, {
    headers: { Authorization: `Token ${API_KEY}` },
  });
  let audioBytes = 0;
  let lastAudioAtMs = 0;
  const flushed: number[] = [];
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) {
      audioBytes += data.length;
      lastAudioAtMs = Date.now();
    } else if ((JSON.parse(data.toString('utf8')) as { type: string }).type === 'Flushed') flushed.push(audioBytes);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const until = (cond: () => boolean, what: string) =>
    withTimeout(
      new Promise<void>((resolve) => {
        const check = () => (cond() ? resolve() : setTimeout(check, 10));
        check();
      }),
      10_000,
      what,
    );

  try {
    ws.send(JSON.stringify({ type: 'Speak', text: 'It costs 4.99 a month' }));
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(audioBytes, 0, 'an unfinished sentence ("4.99" is not an end) waits for more text or Flush');

    ws.send(JSON.stringify({ type: 'Speak', text: ', billed yearly. Would ' }));
    // Spoken in full, with no Flush yet.
    await until(() => audioBytes > 24000 && Date.now() - lastAudioAtMs > 300, 'the completed sentence was not spoken before Flush');
    assert.equal(flushed.length, 0, 'no Flushed without a Flush');

    const beforeFlush = audioBytes;
    ws.send(JSON.stringify({ type: 'Speak', text: 'you like to hear more?' }));
    ws.send(JSON.stringify({ type: 'Flush' }));
    await until(() => flushed.length === 1, 'no Flushed');
    assert.ok(flushed[0]! > beforeFlush + 24000, 'Flush spoke the rest before confirming');
  } finally {
    ws.close();
  }
});

test('Deepgram TTS plugin: a two-sentence reply starts playing before the LLM has finished it', async () => {
  const client = new deepgram.TTS({ baseUrl: deepgramHttp, apiKey: API_KEY, model: 'aura-2-andromeda-en' });
  const stream = client.stream();
  const started = Date.now();
  // The first sentence and the second's first word now, the rest 1.5 s later, as a slow
  // LLM would write them (the plugin's tokenizer releases a sentence once the next begins).
  stream.pushText('Our plan costs forty nine dollars a month. Would');
  const second = setTimeout(() => {
    stream.pushText(' you like me to send you the details?');
    stream.flush();
    stream.endInput();
  }, 1500);
  let firstAudioMs: number | undefined;
  let seconds = 0;
  for await (const ev of stream) {
    if (ev === tts.SynthesizeStream.END_OF_STREAM) break;
    firstAudioMs ??= Date.now() - started;
    seconds += ev.frame.samplesPerChannel / ev.frame.sampleRate;
  }
  clearTimeout(second);
  stream.close();
  assert.ok(firstAudioMs !== undefined && firstAudioMs < 1500, `first audio after ${firstAudioMs} ms, before the second sentence`);
  assert.ok(seconds > 3, `both sentences spoken (${seconds.toFixed(2)} s)`);
});

function llmClient(): openai.LLM {
  return new openai.LLM({ baseURL: openaiBase, apiKey: API_KEY, model: 'gpt-4.1' });
}

async function collect(stream: llm.LLMStream) {
  let text = '';
  const calls: llm.FunctionCall[] = [];
  let usage: llm.ChatChunk['usage'];
  for await (const chunk of stream) {
    text += chunk.delta?.content ?? '';
    calls.push(...(chunk.delta?.toolCalls ?? []));
    usage = chunk.usage ?? usage;
  }
  return { text, calls, usage };
}

const transferTool = llm.tool({
  description: 'Transfer the caller to a human colleague.',
  parameters: { type: 'object', properties: { reason: { type: 'string' } }, required: ['reason'] },
  execute: () => Promise.resolve('transferring'),
});

test('openai.LLM streams a spoken reply and reports usage', async () => {
  const chatCtx = llm.ChatContext.empty();
  chatCtx.addMessage({ role: 'system', content: 'You are Alex, a friendly sales agent.' });
  chatCtx.addMessage({ role: 'user', content: 'How much does it cost?' });
  const client = llmClient();
  const { text, calls, usage } = await withTimeout(collect(client.chat({ chatCtx })), 10_000, 'no reply');
  assert.match(text, /free/i);
  assert.equal(calls.length, 0);
  assert.ok(usage && usage.completionTokens > 3 && usage.promptTokens > 0, JSON.stringify(usage));
  assert.equal(sims.openai.control.stats.chatCompletions, 1);
  await client.aclose();
});

test('openai.LLM gets a tool call when the caller asks for a human and tools are offered', async () => {
  const chatCtx = llm.ChatContext.empty();
  chatCtx.addMessage({ role: 'assistant', content: 'Hi, this is Alex. Would you be interested in a free quote?' });
  chatCtx.addMessage({ role: 'user', content: 'Can I speak to a human, please?' });
  const client = llmClient();
  const { text, calls } = await withTimeout(collect(client.chat({ chatCtx, toolCtx: { transfer_to_human: transferTool } })), 10_000, 'no reply');
  assert.equal(text, '');
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.name, 'transfer_to_human');
  assert.deepEqual(JSON.parse(calls[0]!.args), { reason: 'caller asked for a human' });
  assert.match(calls[0]!.callId, /^call_/);
  await client.aclose();
});

test('a 429 fault reaches the client as a rate-limit error', async () => {
  const res = await postConfig(openaiBase.replace('/v1', ''), { faults: [{ kind: 'http_429', target: 'chat', retryAfterS: 7 }] });
  assert.equal(res.status, 200);
  const chatCtx = llm.ChatContext.empty();
  chatCtx.addMessage({ role: 'user', content: 'Hello?' });
  const client = llmClient();
  const errors: unknown[] = [];
  client.on('error', (ev: { error: unknown }) => errors.push(ev.error));
  const { text } = await withTimeout(
    collect(client.chat({ chatCtx, connOptions: { maxRetry: 0, retryIntervalMs: 100, timeoutMs: 5000 } })),
    10_000,
    'stream never ended',
  );
  assert.equal(text, '');
  assert.equal(errors.length, 1);
  const err = errors[0];
  assert.ok(err instanceof APIStatusError, String(err));
  assert.equal(err.statusCode, 429);
  assert.equal(err.retryable, true);
  // The fault was used up: the next request succeeds.
  assert.notEqual((await collect(client.chat({ chatCtx }))).text, '');
  assert.equal(sims.openai.control.stats.faultsInjected, 1);
  await client.aclose();
});

test('injected time to first token is what the client measures', async () => {
  await postConfig(openaiBase.replace('/v1', ''), { settings: { ttftMs: 600 }, faults: [{ kind: 'slow_first_token', delayMs: 400 }] });
  const chatCtx = llm.ChatContext.empty();
  chatCtx.addMessage({ role: 'user', content: 'Sorry, who is this?' });
  const client = llmClient();
  const ttfts: number[] = [];
  client.on('metrics_collected', (m: { ttftMs: number }) => ttfts.push(m.ttftMs));
  await collect(client.chat({ chatCtx }));
  await collect(client.chat({ chatCtx }));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(ttfts.length, 2);
  assert.ok(ttfts[0]! >= 1000 && ttfts[0]! < 2500, `slow first token: ${ttfts[0]} ms`);
  assert.ok(ttfts[1]! >= 600 && ttfts[1]! < 1000, `configured ttft: ${ttfts[1]} ms`);
  await client.aclose();
});

test('a dropped STT WebSocket is seen by the client as a closed connection', async () => {
  await postConfig(deepgramHttp, { faults: [{ kind: 'ws_drop', target: 'listen', dropAfterMs: 200 }] });
  const ws = new WebSocket(`${deepgramWs}/v1/listen?encoding=linear16&sample_rate=16000`, { headers: { Authorization: `Token ${API_KEY}` } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const silence = encodeSamples(new Int16Array(1600), 'linear16');
  const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send(silence), 50);
  const code = await withTimeout(new Promise<number>((resolve) => ws.on('close', (c) => resolve(c))), 5000, 'socket was not dropped');
  clearInterval(timer);
  // 1006: abnormal closure, no close frame — a network drop, not a goodbye.
  assert.equal(code, 1006);
});

test('a 503 fault rejects the STT WebSocket upgrade with that status', async () => {
  await postConfig(deepgramHttp, { faults: [{ kind: 'http_503', target: 'listen' }] });
  const ws = new WebSocket(`${deepgramWs}/v1/listen?encoding=linear16&sample_rate=16000`, { headers: { Authorization: `Token ${API_KEY}` } });
  const status = await withTimeout(
    new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))),
    5000,
    'no rejection',
  );
  ws.on('error', () => undefined);
  ws.terminate();
  assert.equal(status, 503);
});

test('audio resampled to 48 kHz and back still transcribes (the LiveKit path in miniature)', async () => {
  const phrase = defaultPhrasebook.byId('do_not_call');
  const at48 = await callerAudio(phrase.id, 48000);
  const at16 = resample(at48, 48000, 16000);
  const res = await fetch(`${deepgramHttp}/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000&punctuate=true`, {
    method: 'POST',
    headers: { Authorization: `Token ${API_KEY}`, 'content-type': 'application/octet-stream' },
    body: encodeSamples(at16, 'linear16'),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { results: { channels: Array<{ alternatives: Array<{ transcript: string }> }> } };
  assert.equal(body.results.channels[0]?.alternatives[0]?.transcript, phrase.text);
});
