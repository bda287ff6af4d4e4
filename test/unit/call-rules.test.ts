/**
 * The call workflow's pure rules: calling windows in the contact's zone (across a DST
 * change), per-outcome retry decisions, call IDs, and the event sequencer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isWindowOpen, nextWindowOpenMs, windowProblem } from '../../workflows/call/calling-window.js';
import { decideRetry } from '../../workflows/call/retry-policy.js';
import { CallState } from '../../workflows/call/state.js';
import { callWorkflowId, inboundCallIdForRoom, roomNameFor } from '../../workflows/ids.js';
import type { CallEventSignal } from '../../workflows/messages.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

test('calling window: read in the contact’s own zone', () => {
  const now = at('2026-06-10T11:00:00Z'); // 07:00 in New York, 12:00 in London, 16:30 in Kolkata
  assert.equal(iso(nextWindowOpenMs({}, 'America/New_York', now)), '2026-06-10T12:00:00.000Z', 'New York opens at 08:00 EDT');
  assert.ok(isWindowOpen({}, 'Europe/London', now));
  assert.ok(isWindowOpen({}, 'Asia/Kolkata', now));
  // After 21:00 in Kolkata, the next opening is tomorrow 08:00 IST.
  assert.equal(iso(nextWindowOpenMs({}, 'Asia/Kolkata', at('2026-06-10T16:00:00Z'))), '2026-06-11T02:30:00.000Z');
});

test('calling window: a DST change moves the opening with the wall clock', () => {
  // 2026-03-08 02:00 EST → 03:00 EDT in New York. 01:30 EST that morning:
  const night = at('2026-03-08T06:30:00Z');
  assert.equal(iso(nextWindowOpenMs({}, 'America/New_York', night)), '2026-03-08T12:00:00.000Z', '08:00 EDT, not 08:00 EST (13:00Z)');
  // The day before, the same local time was 13:00Z.
  assert.equal(iso(nextWindowOpenMs({}, 'America/New_York', at('2026-03-07T06:30:00Z'))), '2026-03-07T13:00:00.000Z');
  // London leaves BST on 2026-10-25: 20:59 local is still open, 21:00 is not.
  assert.ok(isWindowOpen({}, 'Europe/London', at('2026-10-25T20:59:00Z')));
  assert.ok(!isWindowOpen({}, 'Europe/London', at('2026-10-25T21:00:00Z')));
});

test('calling window: stricter hours and weekdays only', () => {
  const weekdays = { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };
  // Saturday 2026-06-13 10:00 in Berlin → Monday 09:00 CEST.
  assert.equal(iso(nextWindowOpenMs(weekdays, 'Europe/Berlin', at('2026-06-13T08:00:00Z'))), '2026-06-15T07:00:00.000Z');
  assert.equal(windowProblem({ start: '18:00', end: '09:00' }, 'UTC'), 'the window must open before it closes');
  assert.equal(windowProblem({}, 'Mars/Olympus'), 'unknown time zone "Mars/Olympus"');
  assert.match(windowProblem({ start: '9am' }, 'UTC') ?? '', /HH:mm/);
  assert.equal(windowProblem({ days: [0] }, 'UTC'), 'days must be ISO weekdays 1-7');
});

test('retry policy: per outcome, bounded by attempts, never for final outcomes', () => {
  const policy = { busy: { maxAttempts: 3, delayS: 60 }, no_answer: { maxAttempts: 1, delayS: 600 } };
  assert.deepEqual(decideRetry(policy, 'busy', 1), { retry: true, nextAttempt: 2, delayMs: 60_000 });
  assert.deepEqual(decideRetry(policy, 'busy', 3), { retry: false });
  assert.deepEqual(decideRetry(policy, 'no_answer', 1), { retry: false });
  assert.deepEqual(decideRetry(policy, 'failed', 1), { retry: true, nextAttempt: 2, delayMs: 120_000 }, 'defaults fill the rest');
  for (const final of ['completed', 'rejected', 'opted_out', 'transferred', 'blocked', 'cancelled'] as const) {
    assert.deepEqual(decideRetry(policy, final, 1), { retry: false }, final);
  }
});

test('call IDs name tenant, campaign, contact and attempt, and refuse anything else', () => {
  assert.equal(callWorkflowId({ tenantId: 'acme', campaignId: 'spring-26', contactId: 'c-42', attempt: 2 }), 'outbound_acme_spring-26_c-42_2');
  assert.equal(callWorkflowId({ tenantId: 'acme', contactId: 'c-42', attempt: 1 }), 'outbound_acme_direct_c-42_1');
  assert.throws(() => callWorkflowId({ tenantId: 'acme', contactId: '+15550100001', attempt: 1 }), /contactId/);
  assert.throws(() => callWorkflowId({ tenantId: 'a_b', contactId: 'c', attempt: 1 }), /tenantId/);
  assert.throws(() => callWorkflowId({ tenantId: 'acme', contactId: 'c', attempt: 0 }), /attempt/);
  assert.equal(roomNameFor('outbound_acme_direct_c-42_1'), 'call_outbound_acme_direct_c-42_1');
  assert.equal(inboundCallIdForRoom('call_inbound_acme_0123456789abcdef'), 'inbound_acme_0123456789abcdef');
  assert.equal(inboundCallIdForRoom('call_outbound_acme_direct_c_1'), undefined);
});

test('event sequencer: once each, in order; a gap holds later events until skipped', () => {
  const state = new CallState('callee');
  const turn = (seq: number): CallEventSignal => ({ seq, ts: '2026-01-01T00:00:00Z', type: 'user.turn', chars: 3 });
  state.offer(turn(2), 0);
  assert.equal(state.turns, 0, 'seq 2 waits for seq 1');
  assert.equal(state.gapSinceMs, 0);
  state.offer(turn(1), 10);
  state.offer(turn(1), 11);
  state.offer(turn(2), 12);
  assert.equal(state.turns, 2);
  assert.equal(state.nextSeq, 3);
  assert.equal(state.gapSinceMs, undefined);
  state.offer(turn(5), 20);
  assert.equal(state.seqHighWater, 6, 'a replacement agent starts past every seq seen');
  state.skipGap(3020);
  assert.equal(state.turns, 3);
  assert.equal(state.nextSeq, 6);
  // Seq 3 and 4 were given up on. When the opt-out in seq 4 turns up after all, it counts
  // (once), and so does a turn; a duplicate of either changes nothing.
  state.offer({ seq: 4, ts: '2026-01-01T00:00:00Z', type: 'tool.requested', toolCallId: 't4', name: 'do_not_call', args: {} }, 4000);
  assert.equal(state.optedOut, true, 'a late opt-out is not lost');
  state.offer(turn(3), 4001);
  state.offer(turn(3), 4002);
  assert.equal(state.turns, 4);
  assert.equal(state.decisions.filter((d) => d.kind === 'do_not_call').length, 1);
  state.offer({ seq: 4, ts: '2026-01-01T00:00:00Z', type: 'tool.requested', toolCallId: 't4', name: 'do_not_call', args: {} }, 4003);
  assert.equal(state.decisions.filter((d) => d.kind === 'do_not_call').length, 1, 'applied once');
  // A join that arrives late would name a superseded agent: not applied.
  const late = new CallState('callee');
  late.offer({ seq: 1, ts: '2026-01-01T00:00:00Z', type: 'agent.joined', workerId: 'w', resumed: false, participantIdentity: 'agent-a' }, 0);
  late.offer({ seq: 3, ts: '2026-01-01T00:00:00Z', type: 'agent.joined', workerId: 'w', resumed: true, participantIdentity: 'agent-b' }, 0);
  late.skipGap(3000);
  late.offer({ seq: 2, ts: '2026-01-01T00:00:00Z', type: 'agent.joined', workerId: 'w', resumed: true, participantIdentity: 'agent-old' }, 3100);
  assert.equal(late.agentIdentity, 'agent-b');
});

test('a replacement agent: its predecessor’s last events neither stall nor end the call, and its leaving is expected', () => {
  const state = new CallState('callee');
  const at0 = '2026-01-01T00:00:00Z';
  const joined = (seq: number, participantIdentity: string): CallEventSignal => ({ seq, ts: at0, type: 'agent.joined', workerId: 'w', resumed: seq > 1, participantIdentity });
  const dnc = (seq: number): CallEventSignal => ({ seq, ts: at0, type: 'tool.requested', toolCallId: `t${seq}`, name: 'do_not_call', args: {} });
  state.offer(joined(1, 'agent-a'), 0);
  state.offer({ seq: 2, ts: at0, type: 'user.turn', chars: 4 }, 10);
  // Its leave (seq 4) arrives ahead of seq 3 and waits behind the gap...
  state.offer({ seq: 4, ts: at0, type: 'agent.left', reason: 'drained' }, 12);
  // ...when agent-a is given up on (it stopped answering) and the workflow removes it.
  state.agentSuperseded('agent-a', 15);
  assert.equal(state.gapSinceMs, undefined, 'what it had not applied is its own: nothing is awaited');
  // Removed, it publishes its last events before the replacement's dispatch has returned:
  // an opt-out the caller made counts, its end of job and its leave do not.
  state.offer(dnc(3), 20);
  state.offer(dnc(3), 21);
  state.offer({ seq: 5, ts: at0, type: 'call.ended', reason: 'job_shutdown' }, 22);
  state.onRoomEvent({ eventId: 'EV_a', event: 'participant_left', roomName: 'r', participantIdentity: 'agent-a', participantKind: 'agent', atMs: 24 }, 24);
  // agent-b joins (seq 105) before the workflow learns where it starts: held, not a gap.
  state.offer(joined(105, 'agent-b'), 30);
  assert.equal(state.agentIdentity, 'agent-a', 'the replacement’s events wait for its first seq');
  assert.equal(state.gapSinceMs, undefined, 'nothing is awaited meanwhile');
  state.skipGap(5_000);
  assert.equal(state.agentIdentity, 'agent-a', 'nor skipped to');
  // The dispatch read seq 4 as the stream's last: agent-b starts 100 past it, at 105.
  state.replacementStarts(105, 40);
  assert.equal(state.agentIdentity, 'agent-b');
  assert.equal(state.nextSeq, 106);
  // A late one of agent-a's, inside its band, still only counts if it is the caller's.
  state.offer({ seq: 6, ts: at0, type: 'user.turn', chars: 9 }, 41);
  state.offer({ seq: 7, ts: at0, type: 'agent.joined', workerId: 'w', resumed: true, participantIdentity: 'agent-a' }, 42);
  assert.equal(state.turns, 2, 'its last turn counted');
  assert.equal(state.decisions.filter((d) => d.kind === 'do_not_call').length, 1, 'the opt-out counted, once');
  assert.equal(state.ended, undefined, 'its end of job is not the call’s end');
  // Read through a function: the state changes behind the compiler's narrowing.
  const lost = () => state.agentLost;
  assert.equal(lost(), undefined, 'neither its leave nor LiveKit’s sends another agent');
  assert.equal(state.agentIdentity, 'agent-b');
  state.onRoomEvent({ eventId: 'EV_b', event: 'participant_left', roomName: 'r', participantIdentity: 'agent-b', participantKind: 'agent', atMs: 50 }, 50);
  assert.equal(lost()?.cause, 'participant_left', 'the current agent leaving still counts');
});

test('an unreachable agent: only the current one is lost, and not once the call has ended', () => {
  const state = new CallState('callee');
  // Read through a function: the state changes behind the compiler's narrowing.
  const lost = () => state.agentLost;
  const joined = (seq: number, participantIdentity: string): CallEventSignal => ({ seq, ts: '2026-01-01T00:00:00Z', type: 'agent.joined', workerId: 'w', resumed: seq > 1, participantIdentity });
  state.offer(joined(1, 'agent-a'), 0);
  state.onAgentUnreachable('agent-old', 10);
  assert.equal(lost(), undefined, 'an earlier agent going away changes nothing');
  state.onAgentUnreachable('agent-a', 20);
  assert.deepEqual(lost(), { atMs: 20, cause: 'unreachable' });
  state.onAgentUnreachable('agent-a', 30);
  assert.equal(lost()?.atMs, 20, 'reported twice (two bridges), lost once');
  state.offer(joined(2, 'agent-b'), 40);
  assert.equal(lost(), undefined, 'the replacement joined');
  state.end('end_call', 'agent');
  state.onAgentUnreachable('agent-b', 50);
  assert.equal(lost(), undefined, 'an ended call needs no agent');
});
