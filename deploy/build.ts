/**
 * Compiles the media worker to JavaScript in `.build/` (the repository's layout, one
 * `.js` per `.ts`, with source maps), so it runs on plain Node.
 *
 * Why only the media worker: it forks a process for every call, and a forked process
 * inherits its parent's flags. Under tsx each one started tsx's loader thread and
 * compiled TypeScript again: importing the job's entry took about 2.2 CPU-seconds under
 * tsx and 1.2–1.4 compiled, paid once per call while the machine carries the calls
 * already running. The other services start once and stay on tsx.
 *
 * Transpiled file by file, not bundled: every module keeps its own `import.meta.url`, so
 * paths beside a module and `process.argv[1]` entry checks mean what they do in source.
 */
import { build } from 'esbuild';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './config.js';

export const buildDir = path.join(repoRoot, '.build');

/** The media worker and the job entry it forks, repository-relative. */
export const mediaWorkerEntries = ['workers/media.ts', 'media/agent/entry.ts'];

/** Where `source` (repository-relative `.ts`) lands in `.build/`. */
export function compiledPath(source: string): string {
  return path.join(buildDir, source.replace(/\.ts$/, '.js'));
}

/**
 * Compiles `entries` and every module of ours they import (packages stay in node_modules)
 * and returns the compiled paths of the entries. Fast enough (a few hundred ms) to run on
 * every start, so what runs is always the checked-out code.
 */
export async function compileForNode(entries: readonly string[]): Promise<string[]> {
  // First pass: only to learn the module graph (nothing written).
  const graph = await build({
    absWorkingDir: repoRoot,
    entryPoints: [...entries],
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    outdir: buildDir,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const sources = Object.keys(graph.metafile.inputs).filter((f) => f.endsWith('.ts'));
  const compiled = await build({
    absWorkingDir: repoRoot,
    entryPoints: sources,
    outdir: buildDir,
    outbase: '.',
    bundle: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    write: false,
    logLevel: 'warning',
  });
  await Promise.all(compiled.outputFiles.map((file) => replaceIfChanged(file.path, file.contents)));
  return entries.map(compiledPath);
}

/**
 * How to run one of Kickcall's scripts from the working tree: with tsx, or, given
 * `compiled` (the modules to compile: the script's own graph and whatever it loads by
 * path), compiled now and on plain Node.
 */
export async function nodeCommand(script: string, compiled?: readonly string[]): Promise<{ command: string; args: string[] }> {
  if (!compiled) return { command: path.join(repoRoot, 'node_modules', '.bin', 'tsx'), args: [path.join(repoRoot, script)] };
  await compileForNode(compiled);
  return { command: process.execPath, args: ['--enable-source-maps', compiledPath(script)] };
}

/**
 * A running worker forks job processes that import these files at any time: a file is
 * replaced whole (written beside, then renamed over), and left alone when unchanged.
 */
async function replaceIfChanged(file: string, contents: Uint8Array): Promise<void> {
  const current = await readFile(file).catch(() => undefined);
  if (current?.equals(contents)) return;
  await mkdir(path.dirname(file), { recursive: true });
  const staging = `${file}.${process.pid}.tmp`;
  await writeFile(staging, contents);
  await rename(staging, file);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outputs = await compileForNode(mediaWorkerEntries);
  console.log(`compiled ${outputs.map((o) => path.relative(repoRoot, o)).join(', ')}`);
}
