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
