/**
 * Builds the Go servers from the Go module proxy at their pinned versions and caches
 * them, version-stamped, in the git-ignored bin folder. A cached binary is reused as is,
 * so only the first `stack:up` on a machine pays for compilation.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { goServers, type GoServerName } from './versions.js';

export class BuildError extends Error {
  override readonly name = 'BuildError';
  readonly retryable = false;
  constructor(
    readonly component: string,
    readonly logFile: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${component}: ${message} (build log: ${logFile})`, options);
  }
}

export function binaryPath(binDir: string, name: GoServerName): string {
  return path.join(binDir, `${name}-${goServers[name].version}`);
}

/**
 * Returns the cached binary for `name`, building it first when missing.
 * @param onBuild called before a (slow) build starts, so the caller can say so.
 */
export async function ensureBinary(
  name: GoServerName,
  dirs: { binDir: string; logDir: string },
  onBuild?: (name: GoServerName) => void,
): Promise<string> {
  const target = binaryPath(dirs.binDir, name);
  if (existsSync(target)) return target;
  onBuild?.(name);

  const server = goServers[name];
  mkdirSync(dirs.binDir, { recursive: true });
  mkdirSync(dirs.logDir, { recursive: true });
  const logFile = path.join(dirs.logDir, `build-${name}.log`);
  const gobin = mkdtempSync(path.join(dirs.binDir, `.build-${name}-`));
  const fd = openSync(logFile, 'w');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('go', ['install', `${server.module}@${server.version}`], {
        env: { ...process.env, GOBIN: gobin, CGO_ENABLED: server.cgo ? '1' : '0' },
        stdio: ['ignore', fd, fd],
      });
      child.once('error', reject);
      child.once('exit', resolve);
    }).catch((err: unknown) => {
      throw new BuildError(name, logFile, 'could not run `go` (is Go installed and on PATH?)', { cause: err });
    });
    if (code !== 0) throw new BuildError(name, logFile, `go install exited with code ${code}`);
    const [built] = readdirSync(gobin);
    if (built === undefined) throw new BuildError(name, logFile, 'go install produced no binary');
    renameSync(path.join(gobin, built), target);
    return target;
  } finally {
    closeSync(fd);
    rmSync(gobin, { recursive: true, force: true });
  }
}
