/**
 * SIPp as the far end of real SIP calls (Debian `sip-tester`): the demo and the tests
 * start a scenario from `deploy/sipp/` on a loopback port and wait for its verdict. SIPp
 * exits 0 when every call followed the scenario, non-zero otherwise.
 *
 * `uas-*` scenarios answer the gateway's outbound calls; `uac-*` scenarios call the
 * gateway (inbound calls): they need `remote` (the gateway's SIP address) and `service`
 * (the number dialled).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './config.js';

export type SippScenario =
  | 'uas-answer'
  | 'uas-busy'
  | 'uas-no-answer'
  | 'uas-refer'
  | 'uas-talk'
  | 'uas-personas'
  | 'uas-talk-refer'
  | 'uac-call'
  | 'uac-call-remote-bye'
  | 'uac-call-refer'
  | 'uac-cancel'
  | 'uac-rejected';

export interface SippOptions {
  scenario: SippScenario;
  host: string;
  /** SIP port SIPp listens on. */
  port: number;
  /** RTP port; with `rtpEcho`, audio sent to it comes straight back. */
  mediaPort: number;
  rtpEcho?: boolean;
  /** SIPp exits after this many calls. Default 1. */
  maxCalls?: number;
  /** Global timeout after which SIPp gives up. Default 60 s. */
  timeoutS?: number;
  /** Caller (uac-*) scenarios: where to call, `host:port` (SIPp's last argument). */
  remote?: string;
  /** Caller (uac-*) scenarios: the number dialled, the Request-URI's user part (`-s`). */
  service?: string;
  /** How long a scenario's `<pause/>` lasts (`-d`), e.g. how long the caller talks before BYE. Default 0. */
  pauseMs?: number;
  /** Files the scenario reads, written next to it first (e.g. `callee.pcmu` for the talking callee). */
  files?: Record<string, Buffer>;
}

export interface SippRun {
  /** SIPp's own SIP address, `host:port` (for uas-* scenarios, the trunk address to dial). */
  address: string;
  /** Resolves with SIPp's exit code and the tail of its output when it exits. */
  exited: Promise<{ code: number | null; output: string }>;
  /** Stops SIPp if it is still running. */
  stop(): Promise<void>;
  /** Folder with SIPp's own trace files (messages, errors). */
  traceDir: string;
  /** Every SIP message SIPp sent and received so far, as text. */
  messages(): string;
}

export function scenarioFile(scenario: SippScenario): string {
  return path.join(repoRoot, 'deploy', 'sipp', `${scenario}.xml`);
}

/** Starts SIPp and resolves once it is listening (its first output line), not after a sleep. */
export async function startSipp(opts: SippOptions): Promise<SippRun> {
  const remote = opts.remote;
  const service = opts.service;
  if (opts.scenario.startsWith('uac-') && (!remote || !service)) {
    throw new Error(`SIPp scenario ${opts.scenario} calls out: it needs remote (host:port) and service (the number dialled)`);
  }
  const traceDir = mkdtempSync(path.join(tmpdir(), `kickcall-sipp-${opts.scenario}-`));
  for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(path.join(traceDir, path.basename(name)), content);
  const args = [
    '-sf', scenarioFile(opts.scenario),
    '-i', opts.host, '-p', String(opts.port),
    '-mi', opts.host, '-mp', String(opts.mediaPort),
    '-m', String(opts.maxCalls ?? 1),
    '-timeout', `${opts.timeoutS ?? 60}s`, '-timeout_error',
    '-nostdin', '-trace_msg', '-trace_err', '-trace_screen',
    ...(opts.rtpEcho ? ['-rtp_echo'] : []),
    ...(opts.pauseMs !== undefined ? ['-d', String(opts.pauseMs)] : []),
    ...(remote && service ? ['-s', service, remote] : []),
  ];
  const child: ChildProcess = spawn('sipp', args, { cwd: traceDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const exited = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.once('error', (err) => reject(new Error('could not run sipp (Debian package sip-tester)', { cause: err })));
    child.once('exit', (code) => resolve({ code, output: output + readTraces(traceDir, '_errors.log', '_screen.log') }));
  });
  await waitForListening(opts.host, opts.port, exited);
  return {
    address: `${opts.host}:${opts.port}`,
    exited,
    traceDir,
    messages: () => readTraces(traceDir, '_messages.log'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited.catch(() => undefined);
    },
  };
}

/** SIPp binds its UDP port before anything else; probing with OPTIONS would count as a call. */
/**
 * Waits until SIPp holds its UDP port. Reads the kernel's socket table rather than probing
 * with a bind of our own: a probe that binds first makes SIPp's own bind fail (errno 98).
 */
async function waitForListening(host: string, port: number, exited: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 5000;
  let done = false;
  void exited.finally(() => (done = true));
  while (!done && Date.now() < deadline) {
    if (await udpPortBound(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (done) throw new Error(`sipp exited before listening on ${host}:${port}`);
  throw new Error(`sipp did not bind ${host}:${port} within 5 s`);
}

/** Whether some local UDP socket is bound to `port` (Linux: /proc/net/udp, ports in hex). */
async function udpPortBound(port: number): Promise<boolean> {
  const table = await readFile('/proc/net/udp', 'utf8');
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(suffix) ?? false);
}

function readTraces(dir: string, ...suffixes: string[]): string {
  return readdirSync(dir)
    .filter((f) => suffixes.some((suffix) => f.endsWith(suffix)))
    .map((f) => `\n--- ${f}\n${readFileSync(path.join(dir, f), 'utf8')}`)
    .join('');
}
