/**
 * The compliance gate before every dial, and the do-not-call list it reads. The calling
 * window is checked in the workflow (it is pure time arithmetic and drives a durable
 * sleep); what needs the database is here.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'kysely';
import { parsePhoneNumberWithError } from 'libphonenumber-js';
import type { Db } from '../deploy/db/schema.js';
import { FailureType } from '../workflows/errors.js';

export type ComplianceVerdict = { allowed: true } | { allowed: false; reason: 'do_not_call' | 'no_consent' };

/** Normalises to E.164, or fails the activity for good: a bad number never becomes valid. */
function e164(callTo: string): string {
  try {
    const parsed = parsePhoneNumberWithError(callTo);
    if (!parsed.isPossible()) throw new Error('not a possible number');
    return parsed.number;
  } catch (err) {
    throw ApplicationFailure.create({
      type: FailureType.InvalidInput,
      message: `the number to call is not a valid E.164 number (${(err as Error).message})`,
      nonRetryable: true,
    });
  }
}

/**
 * Puts an E.164 number on a tenant's do-not-call list and takes it out of every campaign
 * of the tenant that has not dialled it yet or would redial it; again, it changes nothing.
 * Run it in a transaction (the activity's, or the API's tenant-scoped one).
 */
export async function blockNumber(trx: Db, tenantId: string, phone: string, source: string): Promise<{ contactsRemoved: number }> {
  await trx
    .insertInto('do_not_call')
    .values({ tenant_id: tenantId, phone_e164: phone, source })
    .onConflict((oc) => oc.columns(['tenant_id', 'phone_e164']).doNothing())
    .execute();
  const removed = await trx
    .updateTable('contacts')
    .set({ state: 'done', last_disposition: 'blocked', next_attempt_at: null, claim_id: null, updated_at: sql`now()` })
    .where('tenant_id', '=', tenantId)
    .where('phone_e164', '=', phone)
    .where('state', 'in', ['pending', 'retry_wait'])
    .executeTakeFirst();
  return { contactsRemoved: Number(removed.numUpdatedRows) };
}

export function createComplianceActivities(deps: { db: Db }) {
  return {
    async checkCompliance(input: { tenantId: string; callTo: string; consent: boolean }): Promise<ComplianceVerdict> {
      const phone = e164(input.callTo);
      const listed = await deps.db
        .selectFrom('do_not_call')
        .select('phone_e164')
        .where('tenant_id', '=', input.tenantId)
        .where('phone_e164', '=', phone)
        .executeTakeFirst();
      if (listed) return { allowed: false, reason: 'do_not_call' };
      if (!input.consent) return { allowed: false, reason: 'no_consent' };
      return { allowed: true };
    },

    /**
     * Adds a number to the tenant's list at once and takes it out of every campaign of the
     * tenant that has not dialled it yet or would redial it; adding it again changes nothing.
     * (A call to it already ringing elsewhere is stopped by that call's own gate only if it
     * has not passed it; the gate runs at dial time.)
     */
    async addToDoNotCall(input: { tenantId: string; callTo: string; source: string }): Promise<{ contactsRemoved: number }> {
      const phone = e164(input.callTo);
      return deps.db.transaction().execute((trx) => blockNumber(trx, input.tenantId, phone, input.source));
    },
  };
}

export type ComplianceActivities = ReturnType<typeof createComplianceActivities>;
