/**
 * The price table and the one function that turns a call's usage into dollars. Campaign
 * budgets, cost reports, metrics and the API all price calls here. Each default names its
 * source and date; a deployment overrides any of them with its own contract prices in a
 * JSON file (`KICKCALL_PRICES_FILE`, read and validated once at start-up).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export interface LlmPrice {
  inputPer1MTokensUsd: number;
  outputPer1MTokensUsd: number;
}

export interface PriceTable {
  /** Streaming speech-to-text, per minute of audio sent. */
  sttPerMinuteUsd: number;
  /** Text-to-speech, per 1,000 characters synthesised. */
  ttsPer1kCharactersUsd: number;
  /** Per model; models not listed use `llmDefault`. */
  llm: Record<string, LlmPrice>;
  llmDefault: LlmPrice;
  /** Carrier charge per minute of connected time, billed per second. */
  telephonyPerMinuteUsd: number;
  /**
   * The deployment's own servers (media workers, Temporal, PostgreSQL, NATS, LiveKit),
   * amortised per minute of connected call time.
   */
  selfHostedPerConnectedMinuteUsd: number;
  /** Where the figures come from and when they were read. */
  source: string;
}

export const defaultPrices: PriceTable = {
  // Deepgram Nova-3 streaming, pay as you go (deepgram.com/pricing, read 2025-06).
  sttPerMinuteUsd: 0.0077,
  // Deepgram Aura-2: $0.030 per 1,000 characters (the architecture document; deepgram.com/pricing 2025-06).
  ttsPer1kCharactersUsd: 0.03,
  // OpenAI API list prices (openai.com/api/pricing, read 2025-06).
  llm: {
    'gpt-4.1': { inputPer1MTokensUsd: 2, outputPer1MTokensUsd: 8 },
    'gpt-4.1-mini': { inputPer1MTokensUsd: 0.4, outputPer1MTokensUsd: 1.6 },
    'gpt-4o': { inputPer1MTokensUsd: 2.5, outputPer1MTokensUsd: 10 },
    'gpt-4o-mini': { inputPer1MTokensUsd: 0.15, outputPer1MTokensUsd: 0.6 },
  },
  llmDefault: { inputPer1MTokensUsd: 2, outputPer1MTokensUsd: 8 },
  // A typical US outbound SIP trunk rate (Twilio Elastic SIP Trunking origination to US numbers, 2025-06).
  telephonyPerMinuteUsd: 0.013,
  // Amortised self-hosting: a 2-vCPU server (about $0.09/h on demand, AWS c7i.large
  // us-east-1, 2025-06) per 25 concurrent calls of media work, plus the same again per 50
  // calls for Temporal, PostgreSQL, NATS and LiveKit: (0.09/25 + 0.09/50) / 60 per call-minute.
  selfHostedPerConnectedMinuteUsd: 0.00009,
  source: 'list prices read 2025-06: Deepgram, OpenAI, Twilio Elastic SIP Trunking (US); self-hosting amortised from AWS c7i.large on-demand',
};

export interface CallUsage {
  sttAudioS: number;
  ttsCharacters: number;
  /** Tokens per model. */
  llm: { model: string; inputTokens: number; outputTokens: number }[];
  /** From answer to hang-up; 0 for a call never answered. */
  connectedS: number;
}

export interface CostBreakdown {
  sttUsd: number;
  ttsUsd: number;
  llmUsd: number;
  telephonyUsd: number;
  selfHostedUsd: number;
  totalUsd: number;
}

const usd = z.number().nonnegative().finite();
const llmPriceSchema = z.strictObject({ inputPer1MTokensUsd: usd, outputPer1MTokensUsd: usd });

/** A prices file: any subset of the table; models listed are added to (or replace) the defaults'. */
export const priceOverridesSchema = z.strictObject({
  sttPerMinuteUsd: usd.optional(),
  ttsPer1kCharactersUsd: usd.optional(),
  llm: z.record(z.string().min(1), llmPriceSchema).optional(),
  llmDefault: llmPriceSchema.optional(),
  telephonyPerMinuteUsd: usd.optional(),
  selfHostedPerConnectedMinuteUsd: usd.optional(),
  source: z.string().min(1).describe('Where your figures come from and when (shown in cost reports).'),
});

/** The default table with a prices file's overrides; throws with each invalid field named. */
export function loadPriceTable(file: string | undefined): PriceTable {
  if (!file) return defaultPrices;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`prices file ${file}: ${(err as Error).message}`);
  }
  const parsed = priceOverridesSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`prices file ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  return {
    sttPerMinuteUsd: o.sttPerMinuteUsd ?? defaultPrices.sttPerMinuteUsd,
    ttsPer1kCharactersUsd: o.ttsPer1kCharactersUsd ?? defaultPrices.ttsPer1kCharactersUsd,
    llm: { ...defaultPrices.llm, ...o.llm },
    llmDefault: o.llmDefault ?? defaultPrices.llmDefault,
    telephonyPerMinuteUsd: o.telephonyPerMinuteUsd ?? defaultPrices.telephonyPerMinuteUsd,
    selfHostedPerConnectedMinuteUsd: o.selfHostedPerConnectedMinuteUsd ?? defaultPrices.selfHostedPerConnectedMinuteUsd,
    source: `${o.source}; otherwise ${defaultPrices.source}`,
  };
}

export function callCost(usage: CallUsage, prices: PriceTable = defaultPrices): CostBreakdown {
  const sttUsd = (usage.sttAudioS / 60) * prices.sttPerMinuteUsd;
  const ttsUsd = (usage.ttsCharacters / 1000) * prices.ttsPer1kCharactersUsd;
  const llmUsd = usage.llm.reduce((sum, u) => {
    const p = prices.llm[u.model] ?? prices.llmDefault;
    return sum + (u.inputTokens / 1e6) * p.inputPer1MTokensUsd + (u.outputTokens / 1e6) * p.outputPer1MTokensUsd;
  }, 0);
  const connectedMin = Math.ceil(usage.connectedS) / 60;
  const telephonyUsd = connectedMin * prices.telephonyPerMinuteUsd;
  const selfHostedUsd = connectedMin * prices.selfHostedPerConnectedMinuteUsd;
  return { sttUsd, ttsUsd, llmUsd, telephonyUsd, selfHostedUsd, totalUsd: sttUsd + ttsUsd + llmUsd + telephonyUsd + selfHostedUsd };
}

/** Text-to-speech list prices per 1M characters, for comparing providers on real character counts. */
export interface TtsProviderPrice {
  provider: string;
  per1MCharactersUsd: number;
  source: string;
}

export const ttsProviderPrices: TtsProviderPrice[] = [
  { provider: 'Deepgram Aura-2', per1MCharactersUsd: 30, source: 'the architecture document; deepgram.com/pricing, read 2025-06' },
  { provider: 'ElevenLabs', per1MCharactersUsd: 200, source: 'elevenlabs.io/pricing API tier, read 2025-06' },
  { provider: 'Amazon Polly (neural)', per1MCharactersUsd: 16, source: 'aws.amazon.com/polly/pricing, read 2025-06' },
];
