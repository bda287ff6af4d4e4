/**
 * The typed client without a server: its committed generated files match the routes,
 * errors become `KickcallApiError` / `KickcallConnectionError`, and the CLI's pieces that
 * the integration test cannot reach (masking, following a live transcript) behave.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { renderClientFiles, type ClientFiles } from '../../api/client/codegen.js';
import { createKickcallClient, KickcallApiError, KickcallConnectionError, toKickcallApiError, unwrap } from '../../api/client/index.js';
import { callCommands } from '../../api/cli/calls.js';
import type { Cli } from '../../api/cli/command.js';
import { maskPhone } from '../../api/cli/format.js';

test('the committed api/client/openapi.json and schema.d.ts match the routes (else run `npm run api:client`)', async () => {
  const fresh = await renderClientFiles();
  for (const name of Object.keys(fresh) as (keyof ClientFiles)[]) {
    const committed = await readFile(new URL(`../../api/client/${name}`, import.meta.url), 'utf8');
    assert.ok(committed === fresh[name], `api/client/${name} is stale: run \`npm run api:client\` and commit the result`);
  }
});

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers } });

test('requests carry the bearer key; a problem response throws KickcallApiError with its fields', async () => {
  const seen: Request[] = [];
  const client = createKickcallClient({
    baseUrl: 'http://api.test/',
    apiKey: 'kk_000000000000_secret',
    fetch: (request) => {
      seen.push(request);
      return Promise.resolve(json(404, { type: 'https://kickcall.dev/problems/not-found', title: 'Not found', status: 404, detail: 'Campaign cmp-1 does not exist.' }));
    },
  });
  const err = await unwrap(client.GET('/v1/campaigns/{campaignId}', { params: { path: { campaignId: 'cmp-1' } } })).then(
    () => assert.fail('expected a KickcallApiError'),
    (e: unknown) => e,
  );
  assert.equal(seen[0]?.url, 'http://api.test/v1/campaigns/cmp-1');
  assert.equal(seen[0]?.headers.get('authorization'), 'Bearer kk_000000000000_secret');
  assert.ok(err instanceof KickcallApiError);
  assert.deepEqual({ name: err.name, status: err.status, type: err.type, slug: err.slug, title: err.title, detail: err.detail, retryable: err.retryable }, {
    name: 'KickcallApiError',
    status: 404,
    type: 'https://kickcall.dev/problems/not-found',
    slug: 'not-found',
    title: 'Not found',
    detail: 'Campaign cmp-1 does not exist.',
    retryable: false,
  });
});

test('rate limits are retryable with Retry-After; a body that is not problem details keeps the status', () => {
  const limited = toKickcallApiError({ type: 'https://kickcall.dev/problems/rate-limited', title: 'Too many requests', status: 429 }, new Response(null, { status: 429, headers: { 'retry-after': '2' } }));
  assert.deepEqual([limited.retryable, limited.retryAfterS, limited.message], [true, 2, 'Too many requests']);
  const gateway = toKickcallApiError('<html>bad gateway</html>', new Response(null, { status: 502, statusText: 'Bad Gateway' }));
  assert.deepEqual([gateway.status, gateway.type, gateway.title, gateway.detail, gateway.retryable], [502, 'about:blank', 'Bad Gateway', '<html>bad gateway</html>', true]);
});

test('a 204 unwraps to undefined; an unreachable API throws KickcallConnectionError with the cause', async () => {
  const ok = createKickcallClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch: () => Promise.resolve(new Response(null, { status: 204 })) });
  assert.equal(await unwrap(ok.DELETE('/v1/do-not-call', { body: { phone: '+14155550123' } })), undefined);

  const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  const down = createKickcallClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch: () => Promise.reject(refused) });
  await assert.rejects(unwrap(down.GET('/v1/trunks')), (err: unknown) => err instanceof KickcallConnectionError && err.retryable && err.cause === refused && err.url === 'http://api.test');
});

test('phone numbers are masked to their country, area and last four digits', () => {
  assert.equal(maskPhone('+14155550123'), '+1415•••0123');
  assert.equal(maskPhone('+442071838750'), '+4420•••8750');
  assert.equal(maskPhone('+3531234'), '+3•••34');
});

test('calls transcript --follow prints each turn once, as it arrives, until the call has ended', async () => {
  const turn = (seq: number, role: 'user' | 'agent', text: string) => ({ seq, role, text, interrupted: false, at: '2026-01-01T10:00:00.000Z' });
  const call = (turns: ReturnType<typeof turn>[], endedAt: string | null) => ({
    id: 'outbound_t_c_1',
    campaignId: null,
    direction: 'outbound',
    status: endedAt ? 'ended' : 'in_progress',
    disposition: endedAt ? 'completed' : null,
    endReason: null,
    attempt: 1,
    createdAt: '2026-01-01T10:00:00.000Z',
    answeredAt: '2026-01-01T10:00:00.000Z',
    endedAt,
    agentCount: 1,
    sipStatusCode: null,
    nextAttemptId: null,
    costUsd: null,
    turns,
    analysis: null,
    usage: { sttAudioS: 0, ttsCharacters: 0, llmInputTokens: 0, llmOutputTokens: 0 },
    answers: {},
    callbacks: [],
  });
  // The second poll sees the end; one more poll picks up a turn written just after it.
  const polls = [
    call([turn(1, 'agent', 'Hello!')], null),
    call([turn(1, 'agent', 'Hello!'), turn(2, 'user', 'Hi.')], '2026-01-01T10:01:00.000Z'),
    call([turn(1, 'agent', 'Hello!'), turn(2, 'user', 'Hi.'), turn(3, 'agent', 'Goodbye.')], '2026-01-01T10:01:00.000Z'),
  ];
  let served = 0;
  const client = createKickcallClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch: () => Promise.resolve(json(200, polls[Math.min(served++, polls.length - 1)])) });
  const sink = () => {
    let text = '';
    const stream = new Writable({ write: (chunk: Buffer, _e, done) => ((text += chunk.toString('utf8')), done()) });
    return { stream, text: () => text };
  };
  const [out, err] = [sink(), sink()];
  const cli: Cli = { client, stdout: out.stream, stderr: err.stream };
  await callCommands.transcript!.run(cli, ['outbound_t_c_1', '--follow', '--json']);
  assert.equal(served, 3);
  assert.deepEqual(
    out.text().trim().split('\n').map((l) => (JSON.parse(l) as { seq: number; text: string }).text),
    ['Hello!', 'Hi.', 'Goodbye.'],
  );
});
