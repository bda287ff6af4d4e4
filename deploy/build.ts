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
 * The worker is transpiled file by file, not bundled: every module keeps its own
 * `import.meta.url`, so paths beside a module and `process.argv[1]` entry checks mean what
 * they do in source.
 *
 * The job process is bundled (`bundleJobProcess`): LiveKit Agents' job main and the job
 * entries, with every package they load except native ones, in one module graph split
 * into shared chunks. Loading some 300 packages file by file (resolving, reading and
 * compiling each) was most of the ~1.2 CPU-seconds a job process spent importing before
 * it could take a call; bundled it is about 0.6, and a job process's whole start fell from
 * 1.5 to 0.8 CPU-seconds (bench/results/media-job-start.md).
 */
import { build } from 'esbuild';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './config.js';
import { buildDir, jobBundleDir, jobMainName } from './module-paths.js';

export { buildDir };

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
  // A worker forks its job entries from the job bundle.
  if (entries.some((e) => jobEntries.includes(e))) await bundleJobProcess();
  return entries.map(compiledPath);
}

/** The job entries a worker forks from the bundle: the media agent, and the benchmark's bare session. */
export const jobEntries = ['media/agent/entry.ts', 'bench/bare-agent.ts'];

/** Packages with native parts or files found beside their modules: loaded from node_modules, not bundled. */
const unbundledPackages = ['@livekit/rtc-node', 'onnxruntime-node', 'sharp', 'fluent-ffmpeg', '@ffmpeg-installer/ffmpeg'];

/** Bundled CommonJS code expects these; an ES module has none of them. */
const commonJsGlobals = [
  "import { createRequire as __kcCreateRequire } from 'node:module';",
  "import { fileURLToPath as __kcFileURLToPath } from 'node:url';",
  "import { dirname as __kcDirname } from 'node:path';",
  'const require = __kcCreateRequire(import.meta.url);',
  'const __filename = __kcFileURLToPath(import.meta.url);',
  'const __dirname = __kcDirname(__filename);',
].join(' ');

/**
 * Bundles LiveKit Agents' job main (`job_proc_lazy_main.js`, forked through KICKCALL_AGENTS_JOB_MAIN:
 * deploy/patches) with `jobEntries` into `.build/job/`, sharing chunks, so the job main and
 * the entry it imports use one copy of every package.
 */
export async function bundleJobProcess(): Promise<void> {
  const agentsDist = path.join(repoRoot, 'node_modules', '@livekit', 'agents', 'dist');
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: {
      [jobMainName.replace(/\.js$/, '')]: path.join(agentsDist, 'ipc', 'job_proc_lazy_main.js'),
      ...Object.fromEntries(jobEntries.map((e) => [e.replace(/\.ts$/, ''), e])),
    },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: jobBundleDir,
    chunkNames: 'chunks/[name]-[hash]',
    external: unbundledPackages,
    banner: { js: commonJsGlobals },
    // Stack traces name the original files; their text is on disk, not copied into the map
    // (a map a third the size, parsed at every job process start under --enable-source-maps).
    sourcemap: true,
    sourcesContent: false,
    // A third less to parse at every start (about 60 ms of CPU). Identifiers are not
    // mangled, and `name` stays what the source says where bundling had to rename a
    // clashing one (keepNames); source maps turn stack traces back into files and lines.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    write: false,
    logLevel: 'warning',
  });
  // A worker may fork while this runs: the chunks (new names for new content) and Silero's
  // model first, so the entries, replaced last, never name a file not yet written.
  const chunksDir = path.join(jobBundleDir, 'chunks');
  const isChunk = (file: string) => path.dirname(file) === chunksDir;
  // Silero finds its model beside its module (`new URL('silero_vad.onnx', import.meta.url)`): now a chunk.
  const model = path.join(chunksDir, modelName);
  await replaceIfChanged(model, await readFile(path.join(repoRoot, 'node_modules', '@livekit', 'agents-plugin-silero', 'dist', modelName)));
  await Promise.all(result.outputFiles.filter((f) => isChunk(f.path)).map((file) => replaceIfChanged(file.path, file.contents)));
  await Promise.all(result.outputFiles.filter((f) => !isChunk(f.path)).map((file) => replaceIfChanged(file.path, file.contents)));
  await removeStaleChunks(new Set([model, ...result.outputFiles.map((f) => f.path)]));
}

const modelName = 'silero_vad.onnx';

/**
 * Chunks are named by their content, so each code change leaves the old ones behind. New
 * forks load the new entries, but a job process forked just before a rebuild may still be
 * importing old chunks (some lazily, later): they go once well past that.
 */
const staleChunkAgeMs = 60 * 60_000;

async function removeStaleChunks(current: ReadonlySet<string>): Promise<void> {
  const dir = path.join(jobBundleDir, 'chunks');
  const now = Date.now();
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    if (current.has(file)) continue;
    const { mtimeMs } = await stat(file);
    if (now - mtimeMs > staleChunkAgeMs) await rm(file, { force: true });
  }
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
