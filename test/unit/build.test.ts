/**
 * The compiled media worker (deploy/build.ts): what the stack runs on plain Node must load
 * there without tsx, find the repository as the source does, and fork the compiled job
 * entry rather than the TypeScript one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { compiledPath, compileForNode, mediaWorkerEntries } from '../../deploy/build.js';
import { assertJobMainHonoured, forkedJob, jobBundleDir } from '../../deploy/module-paths.js';
import { repoRoot } from '../../deploy/config.js';
import { sameFormModule } from '../../deploy/module-paths.js';

const run = promisify(execFile);

/** Runs `code` as an ES module on plain Node (no loader flags) and returns what it printed. */
async function plainNode(code: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' } });
  return stdout.trim();
}

test('a module loaded by path is taken in the caller’s own form', () => {
  assert.equal(sameFormModule('file:///srv/kc/workers/media.ts', '../media/agent/entry'), '/srv/kc/media/agent/entry.ts');
  assert.equal(sameFormModule('file:///srv/kc/.build/workers/media.js', '../media/agent/entry'), '/srv/kc/.build/media/agent/entry.js');
});

test('the compiled media worker and its job entry load on plain Node and find the repository', async () => {
  const [worker, entry] = await compileForNode(mediaWorkerEntries);
  assert.equal(worker, compiledPath('workers/media.ts'));
  assert.ok(existsSync(worker) && existsSync(entry!), 'both entries were written');
  const url = (p: string) => pathToFileURL(p).href;
  const printed = await plainNode(
    [
      `const agent = (await import(${JSON.stringify(url(entry!))})).default;`,
      `const { repoRoot } = await import(${JSON.stringify(url(compiledPath('deploy/config.ts')))});`,
      `console.log(JSON.stringify({ entry: typeof agent.entry, prewarm: typeof agent.prewarm, repoRoot }));`,
    ].join('\n'),
  );
  assert.deepEqual(JSON.parse(printed.split('\n').at(-1)!), { entry: 'function', prewarm: 'function', repoRoot });
});

test('a compiled worker forks its job entry from the job bundle, with the bundled job main; under tsx, the source', () => {
  assert.deepEqual(forkedJob('file:///srv/kc/workers/media.ts', '../media/agent/entry'), { agentPath: '/srv/kc/media/agent/entry.ts' });
  const compiled = forkedJob(pathToFileURL(compiledPath('workers/media.ts')).href, '../media/agent/entry');
  assert.deepEqual(compiled, { agentPath: `${jobBundleDir}/media/agent/entry.js`, jobMainPath: `${jobBundleDir}/job_proc_lazy_main.js` });
});

test('the job bundle loads on plain Node: the job main, the entry and its VAD model beside the chunk that loads it', async () => {
  assert.doesNotThrow(assertJobMainHonoured, 'the installed framework forks the job main it is told to (deploy/patches)');
  await compileForNode(mediaWorkerEntries);
  const { agentPath, jobMainPath } = forkedJob(pathToFileURL(compiledPath('workers/media.ts')).href, '../media/agent/entry');
  assert.ok(existsSync(jobMainPath!), 'the job main was bundled');
  const printed = await plainNode(
    [
      `const agent = (await import(${JSON.stringify(pathToFileURL(agentPath).href)})).default;`,
      // What a job process's prewarm does first: Silero's model, found beside its chunk.
      `const proc = { userData: {} };`,
      `await agent.prewarm(proc);`,
      `console.log(JSON.stringify({ entry: typeof agent.entry, prewarmed: Object.keys(proc.userData).length > 0 }));`,
      `process.exit(0);`,
    ].join('\n'),
  );
  assert.deepEqual(JSON.parse(printed.split('\n').at(-1)!), { entry: 'function', prewarmed: true });
});
