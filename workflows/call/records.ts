/**
 * The writes every call makes to PostgreSQL (its row, the domain events webhooks are
 * delivered from) and the compliance gate's read, as the call workflow sees them.
 *
 * They are short, idempotent round trips to the database, so a call runs them as local
 * activities: on the worker already running the workflow task, each recorded as one
 * marker, with no activity task of its own queued through the Temporal server and no
 * workflow task to deliver its result. They were about two thirds of a call's activities,
 * and the Temporal server's work per call is what bounds a campaign's pace. A status change
 * and the domain event announcing it go in one write, one transaction.
 *
 * Calls whose history began before this (no `records-as-local-activities` marker) keep
 * making the same activity calls in the same order, so they replay.
 */
import { patched, proxyLocalActivities } from '@temporalio/workflow';
import type { CallRecordActivities, CallRow, CallUpdate, DomainEventInput } from '../../activities/call-records.js';
import type { ComplianceActivities } from '../../activities/compliance.js';
import { recordsOptions, withSummary } from './activities.js';

type Records = Pick<CallRecordActivities, 'recordCall' | 'updateCall' | 'emitDomainEvent'> & Pick<ComplianceActivities, 'checkCompliance'>;

export class CallRecords {
  private constructor(private readonly local: boolean) {}

  /**
   * Decides once, in the call's first workflow task, which way its writes go: a history
   * from before has no marker there, and the answer holds for the rest of the call.
   */
  static forThisCall(): CallRecords {
    return new CallRecords(patched('records-as-local-activities'));
  }

  recordCall(row: CallRow): Promise<void> {
    return this.via('record the call').recordCall(row);
  }

  checkCompliance(input: Parameters<Records['checkCompliance']>[0]): ReturnType<Records['checkCompliance']> {
    return this.via('compliance gate').checkCompliance(input);
  }

  /** A change to the call's row and the domain events it announces, in that order. */
  async update(summary: string, update: CallUpdate, ...events: DomainEventInput[]): Promise<void> {
    const records = this.via(summary);
    if (this.local) return records.updateCall(update, events);
    await records.updateCall(update);
    for (const event of events) await records.emitDomainEvent(event);
  }

  /** A domain event that changes nothing on the call's row. */
  async emit(summary: string, event: DomainEventInput): Promise<void> {
    await this.via(summary).emitDomainEvent(event);
  }

  private via(summary: string): Records {
    return this.local ? proxyLocalActivities<Records>({ ...recordsOptions, summary }) : withSummary('records', summary);
  }
}
