/**
 * The servers of the local stack, in start order. Each component knows how to prepare
 * itself (build or find its binary, write its config, initialise its data), start as a
 * project-owned process, prove it is healthy, and stop.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { repoRoot, type Config, type ProcessRole } from '../config.js';
import { allSearchAttributeKeys } from '../../workflows/search-attributes.js';
import { mediaWorkerEntries, nodeCommand } from '../build.js';
import { ensureBinary } from './binaries.js';
import { callEventBridgeDurable } from '../../media/events/subjects.js';
import { httpOk, jetStreamConsumerPulling, tcpExchange, temporalPollerSeen } from './health.js';
import { isAlive, readPid, startDetached, stopByPidFile } from './process.js';
import { goServers, type GoServerName } from './versions.js';
import { bootstrapDatabase, findPostgresBinDir, postgresRunAs } from '../db/cluster.js';

export interface Component {
  name: string;
  version: string;
  /** Human-readable listening addresses, for `stack:status`. */
  endpoints: string[];
  logFile: string;
  pidFile: string;
  /** TCP ports the component listens on, checked for conflicts before it starts. */
  tcpPorts: number[];
  startTimeoutMs: number;
  /** Builds or locates the binary, writes config files, initialises data. Idempotent. */
  prepare(onBuild: (name: string) => void): Promise<void>;
  start(): Promise<void>;
  health(): Promise<void>;
  /** Runs once after the first healthy check of a fresh start (bootstrap, migrations). */
  afterStart?(): Promise<void>;
  stop(): Promise<boolean>;
  isRunning(): boolean;
}

interface Paths {
  dir: string;
  logFile: string;
  pidFile: string;
}

function pathsFor(config: Config, name: string): Paths {
  const dir = path.join(config.paths.stateDir, name);
  mkdirSync(dir, { recursive: true });
  return { dir, logFile: path.join(dir, `${name}.log`), pidFile: path.join(dir, `${name}.pid`) };
}

/** A component backed by one of the Go servers we build. */
function goComponent(
  config: Config,
  name: GoServerName,
  def: {
    endpoints: string[];
    tcpPorts: number[];
    startTimeoutMs?: number;
    writeConfig?: (dir: string) => void;
    args: (dir: string) => string[];
    health: () => Promise<void>;
    afterStart?: () => Promise<void>;
  },
): Component {
  const p = pathsFor(config, name);
  let binary = '';
  return {
    name,
    version: goServers[name].version,
    endpoints: def.endpoints,
    tcpPorts: def.tcpPorts,
    logFile: p.logFile,
    pidFile: p.pidFile,
    startTimeoutMs: def.startTimeoutMs ?? 30_000,
    async prepare(onBuild) {
      binary = await ensureBinary(name, { binDir: config.paths.binDir, logDir: p.dir }, onBuild);
      def.writeConfig?.(p.dir);
    },
    async start() {
      await startDetached({ command: binary, args: def.args(p.dir), logFile: p.logFile, pidFile: p.pidFile, cwd: p.dir });
    },
    health: def.health,
    ...(def.afterStart ? { afterStart: def.afterStart } : {}),
    stop: () => stopByPidFile(p.pidFile),
    isRunning: () => isAlive(readPid(p.pidFile)),
  };
}

/** Writes a config file holding secrets, readable only by its owner. */
function writePrivate(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function redis(config: Config): Component {
  const p = pathsFor(config, 'redis');
  const version = (spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '').match(/v=(\S+)/)?.[1];
  return {
    name: 'redis',
    version: version ?? 'debian',
    endpoints: [`redis://${config.redis.address}`],
    tcpPorts: [config.redis.port],
    logFile: p.logFile,
    pidFile: p.pidFile,
    startTimeoutMs: 15_000,
    prepare: () => Promise.resolve(),
    async start() {
      // LiveKit keeps only ephemeral routing state here: no snapshots, no AOF.
      const args = ['--port', String(config.redis.port), '--bind', config.host, '--dir', p.dir];
      args.push('--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes');
      await startDetached({ command: 'redis-server', args, logFile: p.logFile, pidFile: p.pidFile, cwd: p.dir });
    },
    health: () => tcpExchange(config.host, config.redis.port, 'PING\r\n', '+PONG'),
    stop: () => stopByPidFile(p.pidFile),
    isRunning: () => isAlive(readPid(p.pidFile)),
  };
}

function postgres(config: Config): Component {
  const p = pathsFor(config, 'postgres');
  const binDir = findPostgresBinDir();
  const runAs = postgresRunAs(p.dir);
  return {
    name: 'postgres',
    version: binDir ? path.basename(path.dirname(binDir)) : 'missing',
    endpoints: [config.postgres.url],
    tcpPorts: [config.postgres.port],
    logFile: p.logFile,
    pidFile: p.pidFile,
    startTimeoutMs: 30_000,
    async prepare() {
      if (!binDir) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql: run npm run setup');
      if (existsSync(path.join(runAs.dataDir, 'PG_VERSION'))) return;
      mkdirSync(runAs.dataDir, { recursive: true });
      if (runAs.uid !== undefined) spawnSync('chown', ['-R', `${runAs.uid}:${runAs.gid}`, runAs.dataDir]);
      const init = spawnSync(
        path.join(binDir, 'initdb'),
        ['-D', runAs.dataDir, '--username=postgres', '--auth=trust', '--encoding=UTF8', '--no-locale'],
        { encoding: 'utf8', ...(runAs.uid === undefined ? {} : { uid: runAs.uid, gid: runAs.gid }) },
      );
      if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
      await Promise.resolve();
    },
    async start() {
      if (!binDir) throw new Error('PostgreSQL binaries not found');
      // TCP on loopback only; no Unix socket, so nothing is written outside the state folder.
      const args = ['-D', runAs.dataDir, '-p', String(config.postgres.port), '-c', `listen_addresses=${config.host}`];
      args.push('-c', 'unix_socket_directories=', '-c', 'max_connections=200', '-c', 'fsync=off');
      await startDetached({
        command: path.join(binDir, 'postgres'),
        args,
        logFile: p.logFile,
        pidFile: p.pidFile,
        cwd: '/',
        ...(runAs.uid === undefined ? {} : { uid: runAs.uid, gid: runAs.gid }),
      });
    },
    health: () => bootstrapDatabase(config, { checkOnly: true }),
    afterStart: () => bootstrapDatabase(config, { checkOnly: false }),
    // SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
    stop: () => stopByPidFile(p.pidFile, { signal: 'SIGINT', graceMs: 20_000, group: false }),
    isRunning: () => isAlive(readPid(p.pidFile)),
  };
}

function nats(config: Config): Component {
  return goComponent(config, 'nats-server', {
    endpoints: [config.nats.url, `${config.nats.monitorUrl} (monitor)`],
    tcpPorts: [config.nats.port, config.nats.monitorPort],
    args: (dir) => [
      '--addr', config.host, '--port', String(config.nats.port),
      '--http_port', String(config.nats.monitorPort), '--server_name', 'kickcall-local',
      '--jetstream', '--store_dir', path.join(dir, 'jetstream'),
    ],
    health: () => httpOk(`${config.nats.monitorUrl}/healthz?js-enabled-only=true`, 'ok'),
  });
}

/** `--search-attribute` wants the CLI's spelling of the type (KEYWORD_LIST → KeywordList). */
function cliTypeName(type: string): string {
  return type
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

function temporal(config: Config): Component {
  const t = config.temporal;
  return goComponent(config, 'temporal', {
    endpoints: [t.address, `${t.uiUrl} (Web UI)`],
    tcpPorts: [t.port, t.uiPort, t.httpPort, t.metricsPort],
    startTimeoutMs: 60_000,
    args: (dir) => [
      'server', 'start-dev', '--ip', config.host, '--ui-ip', config.host,
      '--port', String(t.port), '--ui-port', String(t.uiPort), '--http-port', String(t.httpPort),
      '--metrics-port', String(t.metricsPort), '--namespace', t.namespace,
      '--db-filename', path.join(dir, 'temporal.db'), '--log-level', 'warn',
      // SQLite's default rollback journal syncs every transaction twice: the dev server
      // then spends its time in fsync and each workflow round trip takes hundreds of ms.
      // WAL with synchronous=NORMAL survives a crash of the server process and is
      // several times faster; only an OS crash can lose the last transactions.
      '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal',
      ...allSearchAttributeKeys.flatMap((k) => ['--search-attribute', `${k.name}=${cliTypeName(k.type)}`]),
    ],
    async health() {
      const connection = await Connection.connect({ address: t.address, connectTimeout: 2000 });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: t.namespace });
        const missing = allSearchAttributeKeys.filter((k) => !(k.name in (customAttributes ?? {})));
        if (missing.length > 0) throw new Error(`search attributes not registered: ${missing.map((k) => k.name).join(', ')}`);
      } finally {
        await connection.close();
      }
      await httpOk(t.uiUrl);
    },
  });
}

function livekit(config: Config): Component {
  const lk = config.livekit;
  return goComponent(config, 'livekit-server', {
    endpoints: [lk.wsUrl, `rtc tcp ${lk.rtcTcpPort}, udp ${lk.rtcUdpPortStart}-${lk.rtcUdpPortEnd}`],
    tcpPorts: [lk.port, lk.rtcTcpPort],
    writeConfig: (dir) =>
      writePrivate(
        path.join(dir, 'livekit.yaml'),
        [
          `port: ${lk.port}`,
          `bind_addresses: ["${config.host}"]`,
          'rtc:',
          `  tcp_port: ${lk.rtcTcpPort}`,
          `  port_range_start: ${lk.rtcUdpPortStart}`,
          `  port_range_end: ${lk.rtcUdpPortEnd}`,
          // Loopback-safe: never ask a STUN server for a public address, offer 127.0.0.1.
          '  use_external_ip: false',
          `  node_ip: ${config.host}`,
          '  enable_loopback_candidate: true',
          'redis:',
          `  address: ${config.redis.address}`,
          'keys:',
          `  ${lk.apiKey}: ${lk.apiSecret}`,
          'webhook:',
          `  api_key: ${lk.apiKey}`,
          '  urls:',
          `    - ${config.api.livekitWebhookUrl}`,
          'logging:',
          '  level: info',
          '',
        ].join('\n'),
      ),
    args: (dir) => ['--config', path.join(dir, 'livekit.yaml')],
    health: () => httpOk(`${lk.httpUrl}/`, 'OK'),
  });
}

/**
 * A component that is one of Kickcall's own Node processes, run from the working tree so
 * it is always the checked-out code: with tsx, or compiled to JavaScript on every start
 * (`compiled`: the modules to compile, the script's own graph and whatever it loads by
 * path; deploy/build.ts) and run on plain Node.
 */
function nodeComponent(
  config: Config,
  name: ProcessRole,
  def: { script: string; compiled?: readonly string[]; endpoints: string[]; tcpPorts: number[]; health: () => Promise<void>; stopGraceMs?: number; env?: Record<string, string> },
): Component {
  const p = pathsFor(config, name);
  const metricsPort = config.telemetry.metricsPorts[name];
  return {
    name,
    version: 'kickcall',
    endpoints: metricsPort ? [...def.endpoints, `http://${config.host}:${metricsPort}/metrics`] : def.endpoints,
    tcpPorts: metricsPort ? [...def.tcpPorts, metricsPort] : def.tcpPorts,
    logFile: p.logFile,
    pidFile: p.pidFile,
    startTimeoutMs: 30_000,
    prepare: () => Promise.resolve(),
    async start() {
      const { command, args } = await nodeCommand(def.script, def.compiled);
      await startDetached({ command, args, logFile: p.logFile, pidFile: p.pidFile, cwd: repoRoot, ...(def.env ? { env: { ...process.env, ...def.env } } : {}) });
    },
    health: def.health,
    stop: () => stopByPidFile(p.pidFile, { graceMs: def.stopGraceMs ?? 10_000 }),
    isRunning: () => isAlive(readPid(p.pidFile)),
  };
}

/** Kickcall's SIP gateway, in place of livekit-sip (which cannot be built here). */
function sipGateway(config: Config): Component {
  const s = config.sip;
  return nodeComponent(config, 'sip-gateway', {
    script: 'workers/sip-gateway.ts',
    endpoints: [`sip:${config.host}:${s.port} (udp)`, `rtp ${s.rtpPortStart}-${s.rtpPortEnd}`, `${s.controlUrl} (control)`],
    tcpPorts: [s.controlPort],
    health: () => httpOk(`${s.controlUrl}/health`, 'ok'),
    // Live calls get a BYE each before the gateway exits.
    stopGraceMs: 15_000,
  });
}

/**
 * The Deepgram- and OpenAI-compatible simulators. Part of the stack only while a provider
 * has no API key configured: with both keys set, nothing simulated runs.
 */
function providerSimulators(config: Config): Component {
  const sim = config.providers.simulator;
  const base = `http://${config.host}`;
  return nodeComponent(config, 'provider-sim', {
    script: 'workers/provider-simulators.ts',
    endpoints: [`${base}:${sim.deepgramPort} (Deepgram)`, `${base}:${sim.openaiPort}/v1 (OpenAI)`],
    tcpPorts: [sim.deepgramPort, sim.openaiPort],
    async health() {
      await httpOk(`${base}:${sim.deepgramPort}/health`, 'ok');
      await httpOk(`${base}:${sim.openaiPort}/health`, 'ok');
    },
  });
}

/**
 * The local stack is a development deployment on loopback: its webhooks may go to a
 * receiver on this machine unless the environment says otherwise. Production leaves
 * `KICKCALL_WEBHOOK_ALLOW_PRIVATE_URLS` unset (false).
 */
const devWebhooks = { KICKCALL_WEBHOOK_ALLOW_PRIVATE_URLS: process.env.KICKCALL_WEBHOOK_ALLOW_PRIVATE_URLS ?? 'true' };

/** The orchestration worker: call (and campaign) workflows and their activities. */
function orchestration(config: Config): Component {
  return nodeComponent(config, 'orchestration', {
    script: 'workers/orchestration.ts',
    endpoints: [`task queue ${config.temporal.taskQueue}`],
    tcpPorts: [],
    // Healthy once Temporal has seen it poll for workflow tasks.
    health: () => temporalPollerSeen(config, config.temporal.taskQueue),
    stopGraceMs: 30_000,
    env: devWebhooks,
  });
}

/** The event bridge: call events from JetStream into call workflows. */
function eventBridge(config: Config): Component {
  return nodeComponent(config, 'event-bridge', {
    script: 'workers/event-bridge.ts',
    endpoints: [`JetStream consumer ${callEventBridgeDurable}`],
    tcpPorts: [],
    health: () => jetStreamConsumerPulling(config, callEventBridgeDurable),
  });
}

/** The media worker: LiveKit Agents jobs, one per call. */
function mediaWorker(config: Config): Component {
  const url = `http://${config.host}:${config.media.httpPort}/`;
  return nodeComponent(config, 'media-worker', {
    script: 'workers/media.ts',
    // It forks a process per call: compiled, those start without the TypeScript loader.
    compiled: mediaWorkerEntries,
    endpoints: [`agent ${config.media.agentName}`, `${url} (health)`],
    tcpPorts: [config.media.httpPort],
    health: () => httpOk(url),
    // Calls get the drain timeout to finish, then are handed back.
    stopGraceMs: config.media.drainTimeoutMs + 10_000,
  });
}

/** The HTTP API, including the LiveKit webhook receiver. */
function api(config: Config): Component {
  return nodeComponent(config, 'api', {
    script: 'api/main.ts',
    endpoints: [config.api.publicUrl, `${config.api.livekitWebhookUrl} (LiveKit webhooks)`],
    tcpPorts: [config.api.port],
    health: () => httpOk(`http://${config.host}:${config.api.port}/health`, 'ok'),
    env: devWebhooks,
  });
}

/** All components in start order (dependencies first). */
export function createComponents(config: Config): Component[] {
  const simulated = config.providers.deepgram.simulated || config.providers.openai.simulated;
  return [
    redis(config),
    postgres(config),
    nats(config),
    temporal(config),
    livekit(config),
    sipGateway(config),
    ...(simulated ? [providerSimulators(config)] : []),
    orchestration(config),
    eventBridge(config),
    mediaWorker(config),
    api(config),
  ];
}

