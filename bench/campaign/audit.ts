/**
 * The campaign audit: reads a finished campaign back from PostgreSQL and lists every way
 * it broke its promises. Each contact must be in a final state with attempts 1..n each
 * recorded once; each attempt is redialled exactly when the retry policy says and not
 * before its delay; the contact's disposition is its last attempt's; every attempt reached
 * the carrier once (a dial retried after a crash re-attaches, it is not placed again).
 * Used by the tests, the chaos run and the benchmark.
 */
import type { Db } from '../../deploy/db/schema.js';
import { decideRetry, type RetryPolicy } from '../../workflows/call/retry-policy.js';
import type { Disposition } from '../../workflows/call/types.js';

export interface CampaignAudit {
  contacts: number;
  calls: number;
  /** Attempts whose dial request reached the simulated carrier more than once (re-attached). */
  reattachedDials: number;
  /** Each broken promise, one line each; empty when the campaign kept them all. */
  problems: string[];
}

/** `finalStates`: the states a contact may end in (`done`, and `cancelled` after a stop). */
export async function auditCampaign(
  db: Db,
  campaignId: string,
  retry: RetryPolicy | undefined,
  /** `carrierLedger`: check load mode's dial ledger (default true; false for calls over real SIP). */
  opts: { finalStates?: string[]; delayToleranceMs?: number; carrierLedger?: boolean } = {},
): Promise<CampaignAudit> {
  const finalStates = opts.finalStates ?? ['done'];
  const tolerance = opts.delayToleranceMs ?? 50;
  const problems: string[] = [];
  const contacts = await db.selectFrom('contacts').select(['id', 'state', 'attempts', 'last_disposition']).where('campaign_id', '=', campaignId).execute();
  const calls = await db
    .selectFrom('calls')
    .select(['id', 'contact_id', 'attempt', 'disposition', 'created_at', 'ended_at'])
    .where('campaign_id', '=', campaignId)
    .orderBy('contact_id')
    .orderBy('attempt')
    .execute();
  const byContact = new Map<string, typeof calls>();
  for (const c of calls) byContact.set(c.contact_id!, [...(byContact.get(c.contact_id!) ?? []), c]);
  const known = new Set(contacts.map((c) => c.id));
  for (const id of byContact.keys()) if (!known.has(id)) problems.push(`calls for unknown contact ${id}`);

  for (const contact of contacts) {
    if (!finalStates.includes(contact.state)) problems.push(`contact ${contact.id} left in state ${contact.state}`);
    const attempts = byContact.get(contact.id) ?? [];
    const numbers = attempts.map((a) => a.attempt).join(',');
    const expected = Array.from({ length: contact.attempts }, (_, i) => i + 1).join(',');
    if (numbers !== expected) problems.push(`contact ${contact.id}: attempts recorded [${numbers}], expected [${expected}]`);
    for (const [i, a] of attempts.entries()) {
      if (a.disposition === null) {
        problems.push(`contact ${contact.id} attempt ${a.attempt} has no outcome`);
        continue;
      }
      const decision = decideRetry(retry, a.disposition as Disposition, a.attempt);
      const last = i === attempts.length - 1;
      // After a stop, a redial the policy granted is legitimately never made.
      if (!last && !decision.retry) problems.push(`contact ${contact.id} attempt ${a.attempt} (${a.disposition}) was redialled against the policy`);
      if (last && decision.retry && contact.state === 'done' && contact.last_disposition !== 'blocked') {
        problems.push(`contact ${contact.id} attempt ${a.attempt} (${a.disposition}) was owed a redial`);
      }
      if (!last && decision.retry && a.ended_at) {
        const gapMs = attempts[i + 1]!.created_at.getTime() - a.ended_at.getTime();
        if (gapMs < decision.delayMs - tolerance) problems.push(`contact ${contact.id} redialled after ${gapMs} ms; the policy says ${decision.delayMs} ms`);
      }
    }
    const lastAttempt = attempts.at(-1);
    if (lastAttempt && contact.state === 'done' && contact.last_disposition !== lastAttempt.disposition && contact.last_disposition !== 'blocked') {
      problems.push(`contact ${contact.id}: disposition ${contact.last_disposition}, last attempt ${lastAttempt.disposition}`);
    }
  }

  let reattachedDials = 0;
  for (let i = 0; opts.carrierLedger !== false && i < calls.length; i += 5000) {
    const rooms = await db
      .selectFrom('simulated_dials')
      .select(['room_name', 'requests'])
      .where('room_name', 'in', calls.slice(i, i + 5000).map((c) => `call_${c.id}`))
      .execute();
    reattachedDials += rooms.filter((r) => r.requests > 1).length;
    const dialled = new Set(rooms.map((r) => r.room_name));
    for (const c of calls.slice(i, i + 5000)) {
      // Blocked calls never reach the carrier.
      if (!dialled.has(`call_${c.id}`) && c.disposition !== 'blocked' && c.disposition !== 'cancelled') problems.push(`call ${c.id} has a record but never reached the carrier`);
    }
  }
  return { contacts: contacts.length, calls: calls.length, reattachedDials, problems };
}
