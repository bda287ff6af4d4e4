/**
 * Load mode: the telephony simulator at the dial boundary drives real call workflows,
 * the real event bridge and PostgreSQL without media. Outcomes follow the seeded plan
 * exactly, so a run is reproducible and every call can be accounted for.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { planCall, type SimulatedOutcome } from '../../activities/telephony-simulator.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { startEventBridge, type EventBridge } from '../../workers/event-bridge.js';
import { createOrchestrationWorker } from '../../workers/orchestration.js';
import { outboundCallWorkflow } from '../../workflows/call/outbound.js';
import type { Disposition, OutboundCallInput } from '../../workflows/call/types.js';
import { callWorkflowId, roomNameFor } from '../../workflows/ids.js';
import { config, uniqueName, testBridgeIdleMs } from '../helpers/env.js';
import { temporalClient } from '../helpers/temporal.js';

let nc: NatsConnection;
let db: Db;
let client: Client;
let close: () => Promise<void>;
let bridge: EventBridge;
before(async () => {
  nc = await connect({ servers: config.nats.url });
  db = createDb(config.postgres.url, { maxConnections: 4 });
  ({ client, close } = await temporalClient());
  bridge = await startEventBridge({ nc, temporal: client, db, log: pino({ level: 'silent' }), durableName: uniqueName('load-bridge'), deliverPolicy: DeliverPolicy.New, removeWhenIdleMs: testBridgeIdleMs });
});
after(async () => {
  await bridge.stop();
  await db.destroy();
  await nc.close();
  await close();
});

const expected: Record<SimulatedOutcome, Disposition> = {
  answered: 'completed',
  voicemail: 'voicemail',
  busy: 'busy',
  no_answer: 'no_answer',
  rejected: 'rejected',
  failed: 'failed',
  opted_out: 'opted_out',
};

test('40 simulated calls end exactly as the seeded plan says, each recorded once', async () => {
  const seed = uniqueName('seed');
  const tenantId = uniqueName('load').replace('-', '');
  const taskQueue = uniqueName('load');
  const loadConfig = { ...config, telephony: { mode: 'simulated' as const, seed, timeScale: 0.005 } };
  const { worker, close: closeWorker } = await createOrchestrationWorker(loadConfig, { taskQueue });
  const inputs: OutboundCallInput[] = Array.from({ length: 40 }, (_, i) => ({
    tenantId,
    campaignId: 'load',
    contactId: `c${i}`,
    attempt: 1,
    callTo: `+1555010${String(i).padStart(4, '0')}`,
    trunk: { address: '127.0.0.1:5999', numbers: ['+15550100000'] },
    contact: { timeZone: 'UTC', consent: true },
    window: { start: '00:00', end: '23:59' },
    agent: { instructions: 'x', greeting: 'Hello.' },
    limits: { ringingTimeoutS: 30, silenceTimeoutS: 20 },
  }));
  const results = await worker.runUntil(
    Promise.all(inputs.map((input) => client.workflow.execute(outboundCallWorkflow, { workflowId: callWorkflowId(input), taskQueue, args: [input] }))),
  );
  await closeWorker();

  const outcomes = new Set<string>();
  for (const [i, result] of results.entries()) {
    const plan = planCall(seed, roomNameFor(callWorkflowId(inputs[i]!)));
    outcomes.add(plan.outcome);
    assert.equal(result.disposition, expected[plan.outcome], `call ${i}: planned ${plan.outcome}`);
    if (plan.outcome === 'answered') assert.equal(result.turns, plan.turns, `call ${i}: every simulated turn reached the workflow`);
  }
  assert.ok(outcomes.size >= 4, `the seed exercised several outcomes (${[...outcomes].join(', ')})`);
  const rows = await db.selectFrom('calls').select(['id', 'disposition']).where('tenant_id', '=', tenantId).execute();
  assert.equal(rows.length, 40, 'one record per call');
  const answeredIds = results.filter((r) => r.disposition === 'completed').map((r) => r.callId);
  if (answeredIds.length > 0) {
    const turns = await db.selectFrom('call_turns').select('call_id').where('call_id', 'in', answeredIds).execute();
    assert.ok(turns.length > 0, 'the bridge wrote the simulated turns');
  }
});
