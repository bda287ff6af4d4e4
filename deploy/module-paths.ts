/**
 * Paths of modules that are loaded by path (a forked process's entry), in the form the
 * caller runs in: TypeScript from source under tsx, JavaScript when compiled into
 * `.build/` by deploy/build.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, repoRoot } from './config.js';

/** Where deploy/build.ts writes the compiled worker, and the job process bundle within it. */
export const buildDir = path.join(repoRoot, '.build');
export const jobBundleDir = path.join(buildDir, 'job');
/**
 * LiveKit Agents' job main in the bundle, which the patched framework forks when told to;
 * it keeps the framework's name, by which tools tell job processes from others (`ps`, bench/media/proc-sampler.ts).
 */
export const jobMainName = 'job_proc_lazy_main.js';

/**
 * `relativeWithoutExtension` beside `fromUrl`, with the caller's own extension. A compiled
 * worker must fork compiled job entries, or its job processes would need the TypeScript
 * loader after all.
 */
export function sameFormModule(fromUrl: string, relativeWithoutExtension: string): string {
  const extension = path.extname(fileURLToPath(fromUrl));
  return fileURLToPath(new URL(`${relativeWithoutExtension}${extension}`, fromUrl));
}

/** A job entry to fork, and the job main to fork it with when not the framework's own. */
export interface ForkedJob {
  agentPath: string;
  /** Set when compiled: the bundled job main (KICKCALL_AGENTS_JOB_MAIN) that shares the entry's module graph. */
  jobMainPath?: string;
}

/**
 * The job entry `relativeWithoutExtension` beside `fromUrl` as a worker forks it: the
 * TypeScript source under tsx; compiled, the entry in the job bundle with its job main.
 */
export function forkedJob(fromUrl: string, relativeWithoutExtension: string): ForkedJob {
  const own = sameFormModule(fromUrl, relativeWithoutExtension);
  if (path.extname(own) !== '.js') return { agentPath: own };
  return { agentPath: path.join(jobBundleDir, path.relative(buildDir, own)), jobMainPath: path.join(jobBundleDir, jobMainName) };
}

/** The variable the patched framework forks its job main from (deploy/patches). */
export const jobMainVariable = 'KICKCALL_AGENTS_JOB_MAIN';

/**
 * Set to `off`, the patched framework (deploy/patches) registers no local end-of-turn
 * model, so a worker starts no inference process. LiveKit Agents 1.9 starts one in every
 * worker whenever its native inference module loads, whether a session asks for the
 * model or not.
 */
export const localEotVariable = 'KICKCALL_AGENTS_LOCAL_EOT';

/**
 * Throws unless the installed LiveKit Agents forks the job main `jobMainVariable` names:
 * unpatched, it would fork its own, which would load the bundled entry's second copy of
 * the framework and fail only once a call came.
 */
export function assertJobMainHonoured(): void {
  const dist = path.dirname(createRequire(import.meta.url).resolve('@livekit/agents'));
  const executor = readFileSync(path.join(dist, 'ipc', 'job_proc_executor.js'), 'utf8');
  if (!executor.includes(jobMainVariable)) {
    throw new ConfigError('the media worker cannot fork its job bundle', [`@livekit/agents in ${dist} is not patched to read ${jobMainVariable}: run npm install, which applies deploy/patches`]);
  }
}
