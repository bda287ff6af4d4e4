/** The running local stack as `npm run stack:status` reports it. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { stackStatus } from '../../deploy/stack/stack.js';
import { config } from '../helpers/env.js';

test('every component of the stack is running and healthy, with its log file', async () => {
  const statuses = await stackStatus(config);
  assert.deepEqual(
    statuses.map((s) => s.name),
    ['redis', 'postgres', 'nats-server', 'temporal', 'livekit-server', 'sip-gateway', 'provider-sim', 'orchestration', 'event-bridge', 'media-worker', 'api'],
  );
  for (const s of statuses) {
    assert.ok(s.healthy, `${s.name} is not healthy: ${s.problem ?? 'not running'}`);
    assert.ok(existsSync(s.logFile), `${s.name} has a log file`);
  }
});
