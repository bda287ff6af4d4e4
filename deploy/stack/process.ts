/**
 * Project-owned server processes: started detached (they outlive `stack:up`), output
 * appended to a log file, PID recorded in a file beside it so `stack:down` and
 * `stack:status` find them again from any later shell.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface ProcessSpec {
  command: string;
  args: readonly string[];
  logFile: string;
  pidFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user and group (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
}

/** Starts a detached process and returns its PID once the OS has created it. */
export async function startDetached(spec: ProcessSpec): Promise<number> {
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  try {
    writeFileSync(fd, `\n--- ${new Date().toISOString()} starting ${path.basename(spec.command)}\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(spec.uid === undefined ? {} : { uid: spec.uid, gid: spec.gid }),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid ?? -1));
    });
    child.unref();
    writeFileSync(spec.pidFile, `${pid}\n`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means it exists but belongs to another user: still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops the process in `pidFile`: `signal` first, SIGKILL after `graceMs`.
 * @returns whether a live process was stopped.
 */
export async function stopByPidFile(
  pidFile: string,
  opts: { signal?: NodeJS.Signals; graceMs?: number; group?: boolean } = {},
): Promise<boolean> {
  const pid = readPid(pidFile);
  if (!isAlive(pid) || pid === undefined) {
    rmSync(pidFile, { force: true });
    return false;
  }
  // Servers are started detached as group leaders; signalling the group also reaches any
  // helper they forked. PostgreSQL manages its own children, so it takes `group: false`.
  const send = opts.group === false ? signalOne : signalGroup;
  send(pid, opts.signal ?? 'SIGTERM');
  const deadline = Date.now() + (opts.graceMs ?? 10_000);
  while (isAlive(pid) && Date.now() < deadline) await delay(100);
  if (isAlive(pid)) {
    send(pid, 'SIGKILL');
    while (isAlive(pid)) await delay(50);
  }
  rmSync(pidFile, { force: true });
  return true;
}

function signalOne(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Signals the whole process group the server leads (it was started detached). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
