/**
 * The campaign benchmark's Temporal history analysis: executions listed by visibility,
 * history events summed, histories fetched (all campaign runs, a sample of calls) for
 * actions by kind and the campaign's activity latencies.
 */
import type { Client, WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { lagSummary, round3, sleep, type LagSummary } from './helpers.js';

/** Runs `fn` over `items`, `concurrency` at a time. */
async function mapLimit<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** Up to `n` items spread evenly over `items`. */
function evenSample<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}

// ---------------------------------------------------------------------------------------
// Histories: events, actions, activity latencies.

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/** The actions this benchmark counts, by kind (see the markdown for the definition). */
export interface ActionCounts {
  workflowStarted: number;
  activityScheduled: number;
  activityRetries: number;
  /** Local activities: one `core_local_activity` marker each (Temporal Cloud bills them as actions too). */
  localActivity: number;
  timerStarted: number;
  signalSent: number;
  signalReceived: number;
  upsertSearchAttributes: number;
  markerRecorded: number;
  updateAccepted: number;
}

const emptyActions = (): ActionCounts => ({
  workflowStarted: 0,
  activityScheduled: 0,
  activityRetries: 0,
  localActivity: 0,
  timerStarted: 0,
  signalSent: 0,
  signalReceived: 0,
  upsertSearchAttributes: 0,
  markerRecorded: 0,
  updateAccepted: 0,
});

export const sumActions = (a: ActionCounts): number => (Object.keys(a) as (keyof ActionCounts)[]).reduce((s, k) => s + a[k], 0);

function tsMs(ts: HistoryEvent['eventTime']): number {
  if (!ts) return NaN;
  const s = ts.seconds;
  const seconds = typeof s === 'number' ? s : s ? s.toNumber() : 0;
  return seconds * 1000 + (ts.nanos ?? 0) / 1e6;
}

/** The marker sdk-core records for each local activity's result. */
const localActivityMarker = 'core_local_activity';

export interface HistoryFigures {
  events: number;
  actions: ActionCounts;
  /** Scheduled → completed, per activity type (ms). */
  activityMs: Record<string, number[]>;
}

export function analyseHistory(history: History): HistoryFigures {
  const events = history.events ?? [];
  const actions = emptyActions();
  const scheduled = new Map<string, { type: string; atMs: number }>();
  const activityMs: Record<string, number[]> = {};
  for (const e of events) {
    if (e.workflowExecutionStartedEventAttributes) actions.workflowStarted++;
    if (e.activityTaskScheduledEventAttributes) {
      actions.activityScheduled++;
      scheduled.set(String(e.eventId), { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', atMs: tsMs(e.eventTime) });
    }
    if (e.activityTaskStartedEventAttributes) actions.activityRetries += Math.max(0, (e.activityTaskStartedEventAttributes.attempt ?? 1) - 1);
    if (e.activityTaskCompletedEventAttributes) {
      const s = scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId));
      if (s) (activityMs[s.type] ??= []).push(tsMs(e.eventTime) - s.atMs);
    }
    if (e.timerStartedEventAttributes) actions.timerStarted++;
    if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) actions.signalSent++;
    if (e.workflowExecutionSignaledEventAttributes) actions.signalReceived++;
    if (e.upsertWorkflowSearchAttributesEventAttributes) actions.upsertSearchAttributes++;
    if (e.markerRecordedEventAttributes?.markerName === localActivityMarker) actions.localActivity++;
    else if (e.markerRecordedEventAttributes) actions.markerRecorded++;
    if (e.workflowExecutionUpdateAcceptedEventAttributes) actions.updateAccepted++;
  }
  return { events: events.length, actions, activityMs };
}

async function listExecutions(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const out: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query })) out.push(info);
  return out;
}

/** Lists until `expected` executions are visible and closed (visibility lags a little), up to 60 s. */
export async function listWhenSettled(client: Client, query: string, expected: number): Promise<WorkflowExecutionInfo[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const list = await listExecutions(client, query);
    const settled = list.length >= expected && list.every((w) => w.status.name !== 'RUNNING' && w.historyLength > 0);
    if (settled || Date.now() > deadline) return list;
    await sleep(1000);
  }
}

export interface HistoryReport {
  /** Executions found by the visibility query, by workflow type. */
  executions: Record<string, number>;
  /** Sum of historyLength over them, by workflow type. */
  events: Record<string, number>;
  eventsTotal: number;
  eventsPerCall: number;
  /** Call (or bare) histories fetched for actions. */
  sampledCalls: number;
  /** Mean per call workflow over the sample, by kind. */
  callActionsMean: ActionCounts;
  callActivitiesMean: number;
  callLocalActivitiesMean: number;
  /** Actions of the campaign's own runs (all fetched), by kind; zero for the bare variant. */
  driverActions: ActionCounts;
  /** (driver actions + call mean × calls) ÷ calls. */
  actionsPerCall: number;
  actionsPerCallByKind: ActionCounts;
  /** Driver activities' scheduled → completed time (ms), by activity type. */
  driverActivityMs: Record<string, LagSummary>;
}

export async function historyReport(client: Client, list: WorkflowExecutionInfo[], opts: { driverType?: string; calls: number; sample: number }): Promise<HistoryReport> {
  const executions: Record<string, number> = {};
  const events: Record<string, number> = {};
  for (const w of list) {
    executions[w.type] = (executions[w.type] ?? 0) + 1;
    events[w.type] = (events[w.type] ?? 0) + w.historyLength;
  }
  const eventsTotal = Object.values(events).reduce((s, v) => s + v, 0);
  const fetch = (w: WorkflowExecutionInfo) => client.workflow.getHandle(w.workflowId, w.runId).fetchHistory().then(analyseHistory);
  const drivers = list.filter((w) => w.type === opts.driverType);
  const callList = list.filter((w) => w.type !== opts.driverType).sort((a, b) => a.workflowId.localeCompare(b.workflowId));
  const driverFigures = await mapLimit(drivers, 2, fetch);
  const callFigures = await mapLimit(evenSample(callList, opts.sample), 8, fetch);

  const driverActions = emptyActions();
  const driverActivityRaw: Record<string, number[]> = {};
  for (const d of driverFigures) {
    for (const k of Object.keys(driverActions) as (keyof ActionCounts)[]) driverActions[k] += d.actions[k];
    for (const [type, ms] of Object.entries(d.activityMs)) (driverActivityRaw[type] ??= []).push(...ms);
  }
  const callActionsMean = emptyActions();
  const actionsPerCallByKind = emptyActions();
  const n = Math.max(1, callFigures.length);
  for (const k of Object.keys(callActionsMean) as (keyof ActionCounts)[]) {
    callActionsMean[k] = round3(callFigures.reduce((s, c) => s + c.actions[k], 0) / n);
    actionsPerCallByKind[k] = round3(callActionsMean[k] + driverActions[k] / Math.max(1, opts.calls));
  }
  return {
    executions,
    events,
    eventsTotal,
    eventsPerCall: round3(eventsTotal / Math.max(1, opts.calls)),
    sampledCalls: callFigures.length,
    callActionsMean,
    callActivitiesMean: round3(callActionsMean.activityScheduled),
    callLocalActivitiesMean: round3(callActionsMean.localActivity),
    driverActions,
    actionsPerCall: round3(sumActions(actionsPerCallByKind)),
    actionsPerCallByKind,
    driverActivityMs: Object.fromEntries(Object.entries(driverActivityRaw).map(([t, ms]) => [t, lagSummary(ms)])),
  };
}
