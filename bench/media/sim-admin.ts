/**
 * The provider simulators' admin API (`/_sim/config`, `/_sim/reset`): the benchmark sets
 * the latencies it injects, reads back what the simulators actually hold (that is what
 * the results record), and restores start-up settings when it ends.
 */
import type { Config } from '../../deploy/config.js';

/** Latencies injected into the simulators for a run. All ms unless the name says otherwise. */
export interface InjectedLatencies {
  deepgram: {
    /** Extra delay before the STT final is sent, after the endpoint is detected. */
    sttFinalizeDelayMs: number;
    /** Delay before the first TTS audio byte. */
    ttsFirstByteMs: number;
  };
  openai: {
    /** Time to first token of every chat completion. */
    ttftMs: number;
    /** Streaming rate after the first token (tokens per second). */
    tokensPerSecond: number;
  };
}

export const defaultInjectedLatencies: InjectedLatencies = {
  deepgram: { sttFinalizeDelayMs: 100, ttsFirstByteMs: 150 },
  openai: { ttftMs: 300, tokensPerSecond: 60 },
};

export class SimulatorAdminError extends Error {
  override readonly name = 'SimulatorAdminError';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface SimulatorUrls {
  deepgram: string;
  openai: string;
}

/** The simulators' admin origins; refuses when a real provider is configured. */
export function simulatorUrls(config: Config): SimulatorUrls {
  if (!config.providers.deepgram.simulated || !config.providers.openai.simulated) {
    throw new SimulatorAdminError('the media benchmark injects latencies into the provider simulators: unset DEEPGRAM_API_KEY and OPENAI_API_KEY');
  }
  const { deepgramPort, openaiPort } = config.providers.simulator;
  return { deepgram: `http://${config.host}:${deepgramPort}`, openai: `http://${config.host}:${openaiPort}` };
}

async function post(url: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new SimulatorAdminError(`simulator admin ${url} answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Resets both simulators, then sets the latencies; returns the settings they now hold. */
export async function injectLatencies(urls: SimulatorUrls, latencies: InjectedLatencies): Promise<Record<string, unknown>> {
  await resetSimulators(urls);
  const deepgram = await post(`${urls.deepgram}/_sim/config`, { settings: latencies.deepgram, faults: [] });
  const openai = await post(`${urls.openai}/_sim/config`, { settings: latencies.openai, faults: [] });
  return { deepgram: deepgram.settings, openai: openai.settings };
}

export async function resetSimulators(urls: SimulatorUrls): Promise<void> {
  await post(`${urls.deepgram}/_sim/reset`);
  await post(`${urls.openai}/_sim/reset`);
}
