/**
 * The `kickcall` CLI as a person runs it: a child process against the running stack's
 * API, with a fresh tenant's admin key and a trunk made through the typed client. The
 * campaign is created and its CSV imported but never started (the orchestration worker
 * would dial it).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { issueApiKey } from '../../api/api-keys.js';
import { createKickcallClient, unwrap } from '../../api/client/index.js';
import { repoRoot } from '../../deploy/config.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { config, uniqueName } from '../helpers/env.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let db: Db;
let dir: string;
let apiKey: string;
const trunkId = uniqueName('trunk');

/** Runs `kickcall <args>` with the key (unless `env` drops it), without a terminal. */
function kickcall(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env, KICKCALL_API_URL: config.api.publicUrl, KICKCALL_API_KEY: apiKey, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'api/cli/kickcall.ts'), ...args], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const failed = (r: Run) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

before(async () => {
  db = createDb(config.postgres.url, { maxConnections: 2 });
  apiKey = (await issueApiKey(db, { tenantId: uniqueName('cli'), name: 'cli test', role: 'admin' })).key;
  const client = createKickcallClient({ baseUrl: config.api.publicUrl, apiKey });
  await unwrap(client.POST('/v1/trunks', { body: { id: trunkId, address: 'sip.example.test', numbers: ['+14155550100'], maxCallsPerSecond: 5, maxChannels: 10 } }));

  dir = await mkdtemp(path.join(tmpdir(), 'kickcall-cli-'));
  const campaignConfig = { agent: { instructions: 'Remind the callee of their appointment.', greeting: 'Hello from Kickcall.' }, trunkId, callsPerSecond: 1, maxConcurrentCalls: 1 };
  await writeFile(path.join(dir, 'campaign.json'), JSON.stringify(campaignConfig));
  // Row 2 is invalid, row 3 repeats row 1.
  await writeFile(path.join(dir, 'contacts.csv'), 'phone,time_zone,first_name\n+14155550123,America/Los_Angeles,Ann\nnot-a-number,America/Los_Angeles,Bob\n+14155550123,America/Los_Angeles,Ann\n+14155550124,America/Los_Angeles,Cy\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
  await db.destroy();
});

const createArgs = (name: string) => ['campaigns', 'create', '--name', name, '--config', path.join(dir, 'campaign.json'), '--contacts', path.join(dir, 'contacts.csv')];

test('campaigns create streams the CSV and prints the import report row by row', async () => {
  const r = await kickcall(createArgs('CLI human'));
  assert.equal(r.code, 0, failed(r));
  assert.match(r.stdout, /^Created campaign cmp-[0-9a-f]+ \(draft\)\.$/m);
  assert.match(r.stdout, /^Imported 2 of 4 rows/m);
  assert.match(r.stdout, /^Invalid rows \(1\):\nROW\s+FIELD\s+REASON\n2\s+phone\s+not a valid phone number$/m);
  assert.match(r.stdout, /^Duplicate rows \(1\):\nROW\s+FIELD\s+REASON\n3\s+phone\s+same number earlier in this file$/m);
  assert.match(r.stdout, /kickcall campaigns start cmp-/);
  assert.doesNotMatch(r.stdout + r.stderr, /5550123/, 'no phone number in the report');
});

test('--json prints the API data, and campaigns get and list find the campaign', async () => {
  const created = await kickcall([...createArgs('CLI json'), '--json']);
  assert.equal(created.code, 0, failed(created));
  const out = JSON.parse(created.stdout) as { campaign: { id: string; status: string }; import: { rows: number; imported: number; invalid: unknown[]; duplicates: unknown[] }; started?: unknown };
  assert.equal(out.campaign.status, 'draft');
  assert.equal(out.started, undefined);
  assert.deepEqual(out.import.invalid, [{ row: 2, field: 'phone', reason: 'not a valid phone number' }]);
  assert.deepEqual({ rows: out.import.rows, imported: out.import.imported, duplicates: out.import.duplicates.length }, { rows: 4, imported: 2, duplicates: 1 });

  const got = await kickcall(['campaigns', 'get', out.campaign.id, '--json']);
  assert.equal(got.code, 0, failed(got));
  assert.deepEqual((({ id, name, status }) => ({ id, name, status }))(JSON.parse(got.stdout) as { id: string; name: string; status: string }), { id: out.campaign.id, name: 'CLI json', status: 'draft' });

  const human = await kickcall(['campaigns', 'get', out.campaign.id]);
  assert.equal(human.code, 0, failed(human));
  assert.match(human.stdout, new RegExp(`^id:\\s+${out.campaign.id}$`, 'm'));
  assert.match(human.stdout, /^status:\s+draft$/m);
  assert.match(human.stdout, new RegExp(`^trunk:\\s+${trunkId}$`, 'm'));

  const list = await kickcall(['campaigns', 'list']);
  assert.equal(list.code, 0, failed(list));
  assert.match(list.stdout, new RegExp(`^${out.campaign.id}\\s+CLI json\\s+draft\\s`, 'm'));
});

test('a problem response prints its title and detail and exits 1', async () => {
  const r = await kickcall(['campaigns', 'get', 'cmp-000000000000']);
  assert.equal(r.code, 1, failed(r));
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'error: Not found: Campaign cmp-000000000000 does not exist.\n');
});

test('do-not-call numbers are masked in human output and whole in --json', async () => {
  const added = await kickcall(['dnc', 'add', '+14155550188']);
  assert.equal(added.code, 0, failed(added));
  const list = await kickcall(['dnc', 'list']);
  assert.match(list.stdout, /^\+1415•••0188\s+api\s/m);
  assert.doesNotMatch(list.stdout, /4155550188/);
  const json = await kickcall(['dnc', 'list', '--json']);
  assert.equal((JSON.parse(json.stdout) as { items: { phone: string }[] }).items[0]?.phone, '+14155550188');
});

test('usage errors exit 2: no API key, a missing argument, an unknown option', async () => {
  const noKey = await kickcall(['campaigns', 'list'], { KICKCALL_API_KEY: undefined });
  assert.equal(noKey.code, 2, failed(noKey));
  assert.match(noKey.stderr, /^error: KICKCALL_API_KEY is not set/);

  const noId = await kickcall(['campaigns', 'get']);
  assert.equal(noId.code, 2, failed(noId));
  assert.match(noId.stderr, /^error: missing <id>\nusage: kickcall campaigns get <id>/);

  const unknown = await kickcall(['campaigns', 'list', '--colour']);
  assert.equal(unknown.code, 2, failed(unknown));
  assert.match(unknown.stderr, /Unknown option '--colour'/);
});
