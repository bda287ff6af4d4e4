/**
 * Latency and fault injection, and counters, for one simulator. The same shape serves
 * both: a settings object (latencies and behaviour) validated by the simulator's own zod schema, a queue of faults
 * consumed by the next matching requests or connections, and a stats record.
 *
 * Admin API (on each simulator's own port):
 *   GET  /_sim/config  → { settings, faults }       current settings, faults still pending
 *   POST /_sim/config  ← { settings?, faults?, appendFaults? }
 *                        settings fields are merged; `faults` replaces the queue,
 *                        `appendFaults` adds to it
 *   GET  /_sim/stats   → counters since start or the last reset
 *   POST /_sim/reset   → settings back to start-up values, no faults, counters zeroed
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { HttpError, readJson, sendJson } from './http.js';

export const faultKinds = ['http_429', 'http_500', 'http_503', 'ws_drop', 'slow_first_token', 'invalid_output'] as const;
export type FaultKind = (typeof faultKinds)[number];

export const faultSchema = z
  .object({
    kind: z.enum(faultKinds),
    /** How many requests or connections it applies to; default 1. */
    count: z.number().int().min(1).default(1),
    /**
     * Which endpoint it hits (Deepgram: `listen`, `speak`; OpenAI: `chat`, `models`);
     * absent means the next request it can apply to, whatever the endpoint.
     */
    target: z.string().min(1).optional(),
    /** `http_429`: value of Retry-After (s); default 1. */
    retryAfterS: z.number().int().min(0).default(1),
    /** `ws_drop`: how long the stream runs before the connection is cut (ms); default 300. */
    dropAfterMs: z.number().int().min(0).default(300),
    /** `slow_first_token`: extra delay before the first token / audio byte (ms); default 3000. */
    delayMs: z.number().int().min(0).default(3000),
  })
  .strict();
export type Fault = z.infer<typeof faultSchema>;

export type Stats = Record<string, number>;

export class SimControl<L extends Record<string, unknown>> {
  #settings: L;
  #faults: Fault[] = [];
  #stats: Stats;
  readonly #initialSettings: L;
  readonly #statKeys: readonly string[];
  readonly #settingsSchema: z.ZodType<Partial<L>>;

  constructor(opts: { settings: L; settingsSchema: z.ZodType<Partial<L>>; statKeys: readonly string[] }) {
    this.#initialSettings = { ...opts.settings };
    this.#settings = { ...opts.settings };
    this.#settingsSchema = opts.settingsSchema;
    this.#statKeys = opts.statKeys;
    this.#stats = this.#zeroStats();
  }

  get settings(): Readonly<L> {
    return this.#settings;
  }

  get stats(): Readonly<Stats> {
    return this.#stats;
  }

  count(key: string, by = 1): void {
    this.#stats[key] = (this.#stats[key] ?? 0) + by;
  }

  /** Applies a validated change; throws HttpError 400 on a bad one. */
  configure(input: unknown): void {
    const schema = z
      .object({
        settings: this.#settingsSchema.optional(),
        faults: z.array(faultSchema).optional(),
        appendFaults: z.array(faultSchema).optional(),
      })
      .strict();
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw new HttpError(400, z.prettifyError(parsed.error));
    const { settings, faults, appendFaults } = parsed.data;
    if (settings) this.#settings = { ...this.#settings, ...settings };
    if (faults) this.#faults = faults.map((f) => ({ ...f }));
    if (appendFaults) this.#faults.push(...appendFaults.map((f) => ({ ...f })));
  }

  reset(): void {
    this.#settings = { ...this.#initialSettings };
    this.#faults = [];
    this.#stats = this.#zeroStats();
  }

  /**
   * Consumes one use of the first queued fault of an applicable kind aimed at this
   * target (or at any target). Returns it, or undefined when the request runs clean.
   */
  takeFault(target: string, applicable: readonly FaultKind[]): Fault | undefined {
    const index = this.#faults.findIndex((f) => applicable.includes(f.kind) && (f.target === undefined || f.target === target));
    if (index < 0) return undefined;
    const fault = this.#faults[index]!;
    fault.count -= 1;
    if (fault.count <= 0) this.#faults.splice(index, 1);
    this.count('faultsInjected');
    return { ...fault };
  }

  /** Serves the `/_sim/*` routes; returns false when the path is not one of them. */
  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (!pathname.startsWith('/_sim/')) return false;
    if (pathname === '/_sim/config' && req.method === 'GET') {
      sendJson(res, 200, { settings: this.#settings, faults: this.#faults });
    } else if (pathname === '/_sim/config' && req.method === 'POST') {
      this.configure(await readJson(req));
      sendJson(res, 200, { settings: this.#settings, faults: this.#faults });
    } else if (pathname === '/_sim/stats' && req.method === 'GET') {
      sendJson(res, 200, this.#stats);
    } else if (pathname === '/_sim/reset' && req.method === 'POST') {
      this.reset();
      sendJson(res, 200, { settings: this.#settings, faults: this.#faults });
    } else {
      throw new HttpError(404, `no admin route ${req.method ?? ''} ${pathname}`);
    }
    return true;
  }

  #zeroStats(): Stats {
    return Object.fromEntries([...this.#statKeys, 'faultsInjected'].map((k) => [k, 0]));
  }
}

/** The HTTP status and body a fault answers with, in the provider's error shape. */
export function faultStatus(fault: Fault): { status: number; headers: Record<string, string> } | undefined {
  switch (fault.kind) {
    case 'http_429':
      return { status: 429, headers: { 'retry-after': String(fault.retryAfterS) } };
    case 'http_500':
      return { status: 500, headers: {} };
    case 'http_503':
      return { status: 503, headers: {} };
    default:
      return undefined;
  }
}
