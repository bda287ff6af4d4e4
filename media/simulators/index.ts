/**
 * Starts both provider simulators: Deepgram-compatible (STT and TTS) and
 * OpenAI-compatible (chat completions). See README.md in this folder.
 */
import type { Logger } from 'pino';
import { startDeepgramSimulator, type DeepgramSettings } from './deepgram-server.js';
import { startOpenAISimulator, type OpenAISettings } from './openai-server.js';
import type { RunningSimulator } from './server-base.js';
import type { EngineTuning } from './stt-engine.js';

export interface ProviderSimulatorsOptions {
  host: string;
  deepgramPort: number;
  openaiPort: number;
  logger: Logger;
  deepgram?: Partial<DeepgramSettings>;
  openai?: Partial<OpenAISettings>;
  sttTuning?: Partial<Omit<EngineTuning, 'minEndpointingMs'>>;
}

export interface ProviderSimulators {
  deepgram: RunningSimulator<DeepgramSettings>;
  openai: RunningSimulator<OpenAISettings>;
  close(): Promise<void>;
}

export async function startProviderSimulators(opts: ProviderSimulatorsOptions): Promise<ProviderSimulators> {
  const deepgram = await startDeepgramSimulator({
    host: opts.host,
    port: opts.deepgramPort,
    logger: opts.logger.child({ simulator: 'deepgram' }),
    ...(opts.deepgram ? { settings: opts.deepgram } : {}),
    ...(opts.sttTuning ? { tuning: opts.sttTuning } : {}),
  });
  let openai: RunningSimulator<OpenAISettings>;
  try {
    openai = await startOpenAISimulator({
      host: opts.host,
      port: opts.openaiPort,
      logger: opts.logger.child({ simulator: 'openai' }),
      ...(opts.openai ? { settings: opts.openai } : {}),
    });
  } catch (err) {
    await deepgram.close();
    throw err;
  }
  return {
    deepgram,
    openai,
    close: async () => {
      await Promise.all([deepgram.close(), openai.close()]);
    },
  };
}

export type { DeepgramSettings, OpenAISettings, RunningSimulator };
