/**
 * The one configuration module. Every port, URL, path and secret Kickcall uses is read
 * here, once, from the environment, and validated with zod. A missing or malformed
 * setting is a clear error at start-up naming the variable, never a silent fallback.
 *
 * Secrets have no defaults. On the local stack (`KICKCALL_PROFILE=local`, the default)
 * LiveKit's key and secret are generated once by `npm run stack:up` into the state
 * folder and read from there; in any other profile they must come from the environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { OutcomeDistribution } from '../activities/telephony-simulator.js';
import { loadPriceTable, type PriceTable } from '../activities/pricing.js';

/**
 * Repository root, independent of the caller's working directory: the nearest folder
 * above this module with a package.json. The module runs from deploy/, or compiled from
 * .build/deploy/ (deploy/build.ts).
 */
export const repoRoot = packageRootAbove(path.dirname(fileURLToPath(import.meta.url)));

function packageRootAbove(dir: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    if (existsSync(path.join(at, 'package.json'))) return at;
    if (path.dirname(at) === at) throw new Error(`no package.json above ${dir}`);
  }
}

const port = z.coerce.number().int().min(1).max(65535);
const host = z.string().min(1);
const metricsPort = z.coerce.number().int().min(0).max(65535);

const envSchema = z
  .object({
    KICKCALL_PROFILE: z.enum(['local', 'production']).default('local'),
    KICKCALL_STACK_DIR: z.string().default(path.join(repoRoot, '.stack')),
    KICKCALL_HOST: host.default('127.0.0.1'),
    KICKCALL_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

    TEMPORAL_ADDRESS: z.string().optional(),
    TEMPORAL_PORT: port.default(7233),
    TEMPORAL_UI_PORT: port.default(8233),
    TEMPORAL_HTTP_PORT: port.default(7243),
    TEMPORAL_METRICS_PORT: port.default(7235),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    /** The task queue orchestration workers poll (a role name, never a tenant). */
    /** `simulated` swaps rooms, dispatch and SIP for the load-mode telephony simulator. */
    KICKCALL_TELEPHONY: z.enum(['livekit', 'simulated']).default('livekit'),
    KICKCALL_TELEPHONY_SEED: z.string().min(1).default('kickcall'),
    /** Load mode: multiplies simulated ringing and talk time (0.01 = 100× faster). */
    KICKCALL_TELEPHONY_TIME_SCALE: z.coerce.number().positive().max(10).default(1),
    /**
     * Streams the providers carry at once across the deployment; a campaign never starts a
     * call beyond them. Defaults are Deepgram's standard-plan limits (50 streaming STT
     * connections, 15 concurrent Aura-2 requests).
     */
    KICKCALL_CAPACITY_STT_STREAMS: z.coerce.number().int().min(1).max(100_000).default(50),
    KICKCALL_CAPACITY_TTS_STREAMS: z.coerce.number().int().min(1).max(100_000).default(15),
    /**
     * Whether an orchestration worker process also runs the deployment's background duties
     * (webhook outbox relay, retention schedule). Extra workers of a test or benchmark on
     * their own task queue turn it off.
     */
    KICKCALL_DEPLOYMENT_DUTIES: z.enum(['true', 'false']).default('true'),
    TEMPORAL_TASK_QUEUE: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/).default('kickcall-orchestration'),
    TEMPORAL_UI_URL: z.url().optional(),
    /** A prebuilt workflow bundle (bundleWorkflowCode's output): workers start in a second instead of bundling. */
    KICKCALL_WORKFLOW_BUNDLE: z.string().min(1).optional(),

    NATS_URL: z.string().optional(),
    NATS_PORT: port.default(4222),
    NATS_MONITOR_PORT: port.default(8222),

    REDIS_PORT: port.default(6390),

    DATABASE_URL: z.string().optional(),
    POSTGRES_PORT: port.default(5433),
    POSTGRES_DB: z.string().min(1).default('kickcall'),
    POSTGRES_USER: z.string().min(1).default('kickcall'),

    LIVEKIT_URL: z.string().optional(),
    LIVEKIT_PORT: port.default(7880),
    LIVEKIT_RTC_TCP_PORT: port.default(7881),
    LIVEKIT_RTC_UDP_PORT_START: port.default(50000),
    LIVEKIT_RTC_UDP_PORT_END: port.default(50199),
    LIVEKIT_API_KEY: z.string().min(1).optional(),
    LIVEKIT_API_SECRET: z.string().min(32, 'LIVEKIT_API_SECRET must be at least 32 characters').optional(),

    SIP_PORT: port.default(5060),
    SIP_RTP_PORT_START: port.default(10000),
    SIP_RTP_PORT_END: port.default(10199),
    SIP_GATEWAY_CONTROL_PORT: port.default(8089),
    /** JSON file of inbound trunks and dispatch rules the gateway loads at start (optional). */
    SIP_INBOUND_ROUTES_FILE: z.string().min(1).optional(),

    DEEPGRAM_URL: z.url().optional(),
    DEEPGRAM_API_KEY: z.string().min(1).optional(),
    OPENAI_BASE_URL: z.url().optional(),
    OPENAI_API_KEY: z.string().min(1).optional(),
    OPENAI_MODEL: z.string().min(1).default('gpt-4.1'),
    PROVIDER_SIM_DEEPGRAM_PORT: port.default(8091),
    PROVIDER_SIM_OPENAI_PORT: port.default(8092),

    MEDIA_AGENT_NAME: z.string().regex(/^[a-z0-9-]{1,64}$/).default('kickcall-agent'),
    MEDIA_WORKER_HTTP_PORT: port.default(8081),
    MEDIA_MAX_CONCURRENT_CALLS: z.coerce.number().int().min(1).max(1000).default(25),
    MEDIA_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
    MEDIA_IDLE_PROCESSES: z.coerce.number().int().min(0).max(100).default(2),

    API_PORT: port.default(8080),
    /** Requests per second one API key may make, and all of a tenant's keys together. */
    KICKCALL_API_RATE_PER_KEY: z.coerce.number().int().min(1).max(100_000).default(50),
    KICKCALL_API_RATE_PER_TENANT: z.coerce.number().int().min(1).max(100_000).default(200),
    /**
     * Keys the hash an erasure record keeps of the erased number, so a copy of the database
     * cannot reverse it by trying every number. Required by the API outside the local
     * profile; keep it with the other secrets, never in the database.
     */
    KICKCALL_ERASURE_KEY: z.string().min(32, 'KICKCALL_ERASURE_KEY must be at least 32 characters').optional(),
    /** Let webhook endpoints point at loopback and private addresses (local development only). */
    KICKCALL_WEBHOOK_ALLOW_PRIVATE_URLS: z.enum(['true', 'false']).default('false'),
    API_PUBLIC_URL: z.url().optional(),

    /** Each process's Prometheus `/metrics` port (0: no metrics server). */
    API_METRICS_PORT: metricsPort.default(9467),
    ORCHESTRATION_METRICS_PORT: metricsPort.default(9464),
    EVENT_BRIDGE_METRICS_PORT: metricsPort.default(9465),
    MEDIA_WORKER_METRICS_PORT: metricsPort.default(9466),
    SIP_GATEWAY_METRICS_PORT: metricsPort.default(9468),
    PROVIDER_SIM_METRICS_PORT: metricsPort.default(9469),
    /** A JSON file of contract prices over the defaults (activities/pricing.ts). */
    KICKCALL_PRICES_FILE: z.string().min(1).optional(),
    /** OTLP/HTTP collector base URL (the standard variable); unset: no tracing at all. */
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  })
  .refine((e) => e.LIVEKIT_RTC_UDP_PORT_START <= e.LIVEKIT_RTC_UDP_PORT_END, {
    message: 'LIVEKIT_RTC_UDP_PORT_START must not exceed LIVEKIT_RTC_UDP_PORT_END',
    path: ['LIVEKIT_RTC_UDP_PORT_START'],
  })
  .refine((e) => e.SIP_RTP_PORT_START <= e.SIP_RTP_PORT_END, {
    message: 'SIP_RTP_PORT_START must not exceed SIP_RTP_PORT_END',
    path: ['SIP_RTP_PORT_START'],
  });

const localSecretsSchema = z.object({
  livekitApiKey: z.string().min(1),
  livekitApiSecret: z.string().min(32),
  /** Absent in files written before erasure records were keyed: `stack:up` adds it. */
  erasureKey: z.string().min(32).optional(),
});
export type LocalSecrets = z.infer<typeof localSecretsSchema>;

/** Raised when configuration is missing or invalid; names every offending variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly retryable = false;
  constructor(
    message: string,
    readonly issues: readonly string[],
  ) {
    super(`${message}:\n  - ${issues.join('\n  - ')}`);
  }
}

export interface Config {
  profile: 'local' | 'production';
  logLevel: z.infer<typeof envSchema>['KICKCALL_LOG_LEVEL'];
  host: string;
  paths: {
    /** Root of everything the local stack owns (git-ignored). */
    stackDir: string;
    /** Cached, version-stamped server binaries. */
    binDir: string;
    /** Per-component data and logs. */
    stateDir: string;
    /** Generated local secrets (LiveKit key and secret). */
    secretsFile: string;
  };
  temporal: {
    address: string;
    port: number;
    uiPort: number;
    httpPort: number;
    metricsPort: number;
    namespace: string;
    /** Where call and campaign workflows run. */
    taskQueue: string;
    /** Prebuilt workflow code; without it the worker bundles `workflows/` at start. */
    workflowBundlePath?: string;
    uiUrl: string;
  };
  nats: { url: string; port: number; monitorPort: number; monitorUrl: string };
  redis: { port: number; address: string };
  postgres: { url: string; port: number; database: string; user: string };
  livekit: {
    /** WebSocket URL clients and agents connect to. */
    wsUrl: string;
    /** HTTP URL for the server API (rooms, SIP, dispatch). */
    httpUrl: string;
    port: number;
    rtcTcpPort: number;
    rtcUdpPortStart: number;
    rtcUdpPortEnd: number;
    apiKey: string;
    apiSecret: string;
  };
  /**
   * The SIP gateway: SIP signalling (UDP) toward carriers, RTP media, and the HTTP
   * control API that activities call to dial and transfer.
   */
  sip: {
    port: number;
    rtpPortStart: number;
    rtpPortEnd: number;
    controlPort: number;
    controlUrl: string;
    /** Inbound trunks and dispatch rules loaded at start; more can be added by the control API. */
    inboundRoutesFile?: string;
  };
  /**
   * Speech and language providers. With no API key configured, each points at the
   * project's simulator on loopback; nothing reaches a cloud service unless configured.
   */
  providers: {
    deepgram: {
      /** WebSocket base for streaming STT (`/v1/listen`). */
      sttBaseUrl: string;
      /** HTTP base for TTS (`/v1/speak`; the plugin derives its WebSocket URL). */
      ttsBaseUrl: string;
      apiKey: string;
      simulated: boolean;
    };
    openai: { baseUrl: string; apiKey: string; model: string; simulated: boolean };
    simulator: { deepgramPort: number; openaiPort: number };
  };
  /**
   * How calls are placed: through LiveKit and the SIP gateway (the default), or, in load
   * mode, by the telephony simulator (activities/telephony-simulator.ts).
   */
  telephony: {
    mode: 'livekit' | 'simulated';
    seed: string;
    timeScale: number;
    /** Load mode's outcome weights (tests and benchmarks set them; default a realistic mix). */
    distribution?: OutcomeDistribution;
  };
  /** Provider streams the whole deployment may hold at once (each call holds one of each). */
  capacity: { sttStreams: number; ttsStreams: number };
  /** Run the webhook relay and the retention schedule in this orchestration process. */
  deploymentDuties: boolean;
  media: {
    /** The name jobs are dispatched to; explicit dispatch only. */
    agentName: string;
    /** The worker's own health endpoint. */
    httpPort: number;
    /** Calls one worker takes before it reports itself full. */
    maxConcurrentCalls: number;
    /** On SIGTERM, how long running calls may finish before they are handed back. */
    drainTimeoutMs: number;
    /**
     * Job processes kept started and warm (Silero loaded). LiveKit Agents 1.9 starts job
     * processes one at a time, a second or more each, so a burst of calls beyond this
     * many waits in line for processes and their greetings come late.
     */
    idleProcesses: number;
  };
  api: {
    port: number;
    publicUrl: string;
    /** Where LiveKit posts its webhooks (the API's receiver). */
    livekitWebhookUrl: string;
    rateLimits: { perKeyPerSecond: number; perTenantPerSecond: number };
    /** Whether webhook URLs may name loopback or private hosts (refused by default: SSRF). */
    webhookAllowPrivateUrls: boolean;
    /** The HMAC key of erasure records (`KICKCALL_ERASURE_KEY`); the API refuses to start without it. */
    erasureKey: string | undefined;
  };
  /** What calls cost: the defaults with the prices file's overrides. */
  prices: PriceTable;
  telemetry: {
    /** Where each process serves Prometheus `/metrics`; 0 turns a process's server off. */
    metricsPorts: Record<ProcessRole, number>;
    /** Spans go to `${otlpEndpoint}/v1/traces`; without it no tracer is installed. */
    otlpEndpoint?: string;
  };
}

/** Kickcall's long-running processes, as named in metrics, traces and logs. */
export type ProcessRole = 'api' | 'orchestration' | 'event-bridge' | 'media-worker' | 'sip-gateway' | 'provider-sim';

function readPrices(file: string | undefined): PriceTable {
  try {
    return loadPriceTable(file ? path.resolve(file) : undefined);
  } catch (err) {
    throw new ConfigError('Invalid prices', [`KICKCALL_PRICES_FILE: ${(err as Error).message}`]);
  }
}

function readLocalSecrets(file: string): LocalSecrets | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = localSecretsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new ConfigError(`Local secrets file ${file} is malformed; delete it and run npm run stack:up`, [
      parsed.error.message,
    ]);
  }
  return parsed.data;
}

/**
 * Reads and validates configuration.
 * @param env the environment to read (defaults to `process.env`), injectable for tests.
 * @param opts.requireSecrets when false, missing LiveKit secrets are left empty (only
 *   the stack manager uses this, before it has generated them).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: { requireSecrets?: boolean } = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      'Invalid configuration',
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const stackDir = path.resolve(e.KICKCALL_STACK_DIR);
  const secretsFile = path.join(stackDir, 'state', 'local-secrets.json');

  let apiKey = e.LIVEKIT_API_KEY;
  let apiSecret = e.LIVEKIT_API_SECRET;
  let erasureKey = e.KICKCALL_ERASURE_KEY;
  if ((!apiKey || !apiSecret || !erasureKey) && e.KICKCALL_PROFILE === 'local') {
    const local = readLocalSecrets(secretsFile);
    apiKey ??= local?.livekitApiKey;
    apiSecret ??= local?.livekitApiSecret;
    erasureKey ??= local?.erasureKey;
  }
  if ((!apiKey || !apiSecret) && opts.requireSecrets !== false) {
    const hint =
      e.KICKCALL_PROFILE === 'local'
        ? `not set and ${secretsFile} does not exist yet: run npm run stack:up`
        : 'required in the production profile';
    throw new ConfigError('Missing secrets', [
      ...(apiKey ? [] : [`LIVEKIT_API_KEY: ${hint}`]),
      ...(apiSecret ? [] : [`LIVEKIT_API_SECRET: ${hint}`]),
    ]);
  }

  const h = e.KICKCALL_HOST;
  // The simulators accept any key; this marker is not a secret, it says where calls go.
  const simulatorKey = 'kickcall-simulator';
  const deepgramBase = (e.DEEPGRAM_URL ?? `http://${h}:${e.PROVIDER_SIM_DEEPGRAM_PORT}`).replace(/\/$/, '');
  const apiPublicUrl = e.API_PUBLIC_URL ?? `http://${h}:${e.API_PORT}`;
  return {
    profile: e.KICKCALL_PROFILE,
    logLevel: e.KICKCALL_LOG_LEVEL,
    host: h,
    paths: {
      stackDir,
      binDir: path.join(stackDir, 'bin'),
      stateDir: path.join(stackDir, 'state'),
      secretsFile,
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? `${h}:${e.TEMPORAL_PORT}`,
      port: e.TEMPORAL_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      httpPort: e.TEMPORAL_HTTP_PORT,
      metricsPort: e.TEMPORAL_METRICS_PORT,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      ...(e.KICKCALL_WORKFLOW_BUNDLE ? { workflowBundlePath: path.resolve(e.KICKCALL_WORKFLOW_BUNDLE) } : {}),
      uiUrl: e.TEMPORAL_UI_URL ?? `http://${h}:${e.TEMPORAL_UI_PORT}`,
    },
    nats: {
      url: e.NATS_URL ?? `nats://${h}:${e.NATS_PORT}`,
      port: e.NATS_PORT,
      monitorPort: e.NATS_MONITOR_PORT,
      monitorUrl: `http://${h}:${e.NATS_MONITOR_PORT}`,
    },
    redis: { port: e.REDIS_PORT, address: `${h}:${e.REDIS_PORT}` },
    postgres: {
      url: e.DATABASE_URL ?? `postgres://${e.POSTGRES_USER}@${h}:${e.POSTGRES_PORT}/${e.POSTGRES_DB}`,
      port: e.POSTGRES_PORT,
      database: e.POSTGRES_DB,
      user: e.POSTGRES_USER,
    },
    livekit: {
      wsUrl: e.LIVEKIT_URL ?? `ws://${h}:${e.LIVEKIT_PORT}`,
      httpUrl: (e.LIVEKIT_URL ?? `ws://${h}:${e.LIVEKIT_PORT}`).replace(/^ws/, 'http'),
      port: e.LIVEKIT_PORT,
      rtcTcpPort: e.LIVEKIT_RTC_TCP_PORT,
      rtcUdpPortStart: e.LIVEKIT_RTC_UDP_PORT_START,
      rtcUdpPortEnd: e.LIVEKIT_RTC_UDP_PORT_END,
      apiKey: apiKey ?? '',
      apiSecret: apiSecret ?? '',
    },
    sip: {
      port: e.SIP_PORT,
      rtpPortStart: e.SIP_RTP_PORT_START,
      rtpPortEnd: e.SIP_RTP_PORT_END,
      controlPort: e.SIP_GATEWAY_CONTROL_PORT,
      controlUrl: `http://${h}:${e.SIP_GATEWAY_CONTROL_PORT}`,
      ...(e.SIP_INBOUND_ROUTES_FILE ? { inboundRoutesFile: path.resolve(e.SIP_INBOUND_ROUTES_FILE) } : {}),
    },
    providers: {
      deepgram: {
        sttBaseUrl: deepgramBase.replace(/^http/, 'ws'),
        ttsBaseUrl: deepgramBase.replace(/^ws/, 'http'),
        apiKey: e.DEEPGRAM_API_KEY ?? simulatorKey,
        simulated: e.DEEPGRAM_API_KEY === undefined,
      },
      openai: {
        baseUrl: e.OPENAI_BASE_URL ?? `http://${h}:${e.PROVIDER_SIM_OPENAI_PORT}/v1`,
        apiKey: e.OPENAI_API_KEY ?? simulatorKey,
        model: e.OPENAI_MODEL,
        simulated: e.OPENAI_API_KEY === undefined,
      },
      simulator: { deepgramPort: e.PROVIDER_SIM_DEEPGRAM_PORT, openaiPort: e.PROVIDER_SIM_OPENAI_PORT },
    },
    telephony: { mode: e.KICKCALL_TELEPHONY, seed: e.KICKCALL_TELEPHONY_SEED, timeScale: e.KICKCALL_TELEPHONY_TIME_SCALE },
    capacity: { sttStreams: e.KICKCALL_CAPACITY_STT_STREAMS, ttsStreams: e.KICKCALL_CAPACITY_TTS_STREAMS },
    deploymentDuties: e.KICKCALL_DEPLOYMENT_DUTIES === 'true',
    media: {
      agentName: e.MEDIA_AGENT_NAME,
      httpPort: e.MEDIA_WORKER_HTTP_PORT,
      maxConcurrentCalls: e.MEDIA_MAX_CONCURRENT_CALLS,
      drainTimeoutMs: e.MEDIA_DRAIN_TIMEOUT_MS,
      idleProcesses: e.MEDIA_IDLE_PROCESSES,
    },
    api: {
      port: e.API_PORT,
      publicUrl: apiPublicUrl,
      livekitWebhookUrl: `${apiPublicUrl}/v1/livekit/webhook`,
      rateLimits: { perKeyPerSecond: e.KICKCALL_API_RATE_PER_KEY, perTenantPerSecond: e.KICKCALL_API_RATE_PER_TENANT },
      webhookAllowPrivateUrls: e.KICKCALL_WEBHOOK_ALLOW_PRIVATE_URLS === 'true',
      erasureKey,
    },
    prices: readPrices(e.KICKCALL_PRICES_FILE),
    telemetry: {
      metricsPorts: {
        api: e.API_METRICS_PORT,
        orchestration: e.ORCHESTRATION_METRICS_PORT,
        'event-bridge': e.EVENT_BRIDGE_METRICS_PORT,
        'media-worker': e.MEDIA_WORKER_METRICS_PORT,
        'sip-gateway': e.SIP_GATEWAY_METRICS_PORT,
        'provider-sim': e.PROVIDER_SIM_METRICS_PORT,
      },
      ...(e.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '') } : {}),
    },
  };
}
