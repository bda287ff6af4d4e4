/**
 * Builds the voice session for one call: Deepgram Nova-3 STT, an OpenAI-API LLM and
 * Deepgram Aura-2 TTS, each a plugin instance pointed at configured base URLs. Everything
 * that @livekit/agents would otherwise fill in from LiveKit's cloud (model strings, the
 * turn detector, adaptive interruption) is set explicitly, so nothing leaves the host
 * unless a provider URL says so.
 */
import { voice, type VAD } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as openai from '@livekit/agents-plugin-openai';
import type { Config } from '../../deploy/config.js';
import type { CallConfig } from './call-config.js';

/**
 * Provider retries per turn. With a 2.5 s per-attempt timeout and two retries, a turn
 * gives up within about 8 s and the degrade path takes over (`degradeOnProviderFailure` in entry.ts).
 */
export const providerRetry = { maxRetry: 2, retryIntervalMs: 250, timeoutMs: 2_500 } as const;

/**
 * The rate at which the agent hears the room: the rate Silero VAD runs at and Nova-3 is
 * sent. LiveKit Agents takes a room's audio at 24 kHz unless told otherwise, and then the
 * VAD and the STT each resample every 10 ms frame through their own rtc-node resampler,
 * two FFI round trips per frame; taking it at their rate leaves the one resampling to
 * rtc-node's native side. Phone audio is 8 kHz narrowband, so 16 kHz loses nothing a
 * caller said. Measured: the job process 10 % and its JavaScript thread 18 % less busy
 * (bench/results/media-profile.md, "Input rate").
 */
export const agentHearsAtHz = 16_000;

/**
 * The length of each audio frame the agent takes from the room. rtc-node hands out 10 ms
 * frames unless told otherwise, and every frame pays its way through the FFI and its
 * protobuf, Node's web streams and the framework's buffers: that, not recognising speech,
 * was most of a call's CPU. 50 ms is LiveKit Agents' own default in Python
 * (`AudioInputOptions.frame_size_ms`) and the chunk Deepgram's plugin sends; the JavaScript
 * port does not expose the option, so deploy/patches adds `audioFrameSizeMs`. The VAD
 * hears a line's end at most 40 ms later than with 10 ms frames, beside 350 ms of silence
 * it waits for. Measured with the patch's buffer fixes: the job process 0.23 → 0.16 cores,
 * its JavaScript thread half as busy (bench/results/media-profile.md, "Frame size").
 */
export const agentFrameMs = 50;

export const roomInputOptions = {
  audioSampleRate: agentHearsAtHz,
  audioNumChannels: 1,
  audioFrameSizeMs: agentFrameMs,
} as const satisfies Partial<voice.RoomInputOptions>;

/**
 * Silero VAD for telephony, set explicitly rather than left at the plugin's defaults. End
 * of speech after 350 ms of silence (default 550): callers' pauses inside a sentence are
 * shorter, and every millisecond here is voice-to-voice delay. Speech must last 100 ms to
 * count (default 50), so line clicks and breaths do not barge in on the agent.
 */
export const vadTiming = { minSilenceDurationMs: 350, minSpeechDurationMs: 100, activationThreshold: 0.5 } as const;

/** Loads Silero with the telephony settings above (once per job process, in prewarm). */
export function loadTelephonyVad(): Promise<VAD> {
  return silero.VAD.load({
    sampleRate: agentHearsAtHz,
    minSilenceDuration: vadTiming.minSilenceDurationMs,
    minSpeechDuration: vadTiming.minSpeechDurationMs,
    activationThreshold: vadTiming.activationThreshold,
  });
}

/** Telephony turn-taking: a short fixed endpointing delay keeps voice-to-voice low. */
export const turnTiming = { endpointingMinDelayMs: 300, endpointingMaxDelayMs: 2_000, interruptionMinDurationMs: 250 } as const;

/**
 * Tool arguments go to the LLM as plain JSON Schema, not OpenAI's strict mode: strict
 * would forbid optional fields. Prewarm converts the tools with the same setting
 * (`warmToolSchemas` in tools.ts).
 */
export const strictToolSchema = false;

export function createAgentSession(call: CallConfig, providers: Config['providers'], vad: VAD): voice.AgentSession {
  const dg = providers.deepgram;
  return new voice.AgentSession({
    stt: new deepgram.STT({
      baseUrl: dg.sttBaseUrl,
      apiKey: dg.apiKey,
      model: 'nova-3',
      language: call.language,
      interimResults: true,
      sampleRate: agentHearsAtHz,
    }),
    llm: new openai.LLM({ baseURL: providers.openai.baseUrl, apiKey: providers.openai.apiKey, model: providers.openai.model, strictToolSchema }),
    tts: new deepgram.TTS({ baseUrl: dg.ttsBaseUrl, apiKey: dg.apiKey, model: call.voice, encoding: 'linear16', sampleRate: 24_000 }),
    vad,
    turnHandling: {
      // Local Silero VAD decides end of turn; never the cloud turn detector.
      turnDetection: 'vad',
      endpointing: { mode: 'fixed', minDelay: turnTiming.endpointingMinDelayMs, maxDelay: turnTiming.endpointingMaxDelayMs },
      // Barge-in by local VAD: the caller speaking over the agent stops its audio.
      interruption: { enabled: true, mode: 'vad', minDuration: turnTiming.interruptionMinDurationMs },
      // One LLM request per turn: speculative requests double provider cost at scale.
      preemptiveGeneration: { enabled: false },
    },
    // Phone audio has no acoustic echo to warm up for; barge-in works from the greeting on.
    aecWarmupDuration: null,
    userAwayTimeout: null,
    connOptions: { sttConnOptions: providerRetry, llmConnOptions: providerRetry, ttsConnOptions: providerRetry, maxUnrecoverableErrors: 1 },
  });
}
