/**
 * Scriptable stand-ins for the call workflow's activities, for workflow tests on the real
 * Temporal dev server (testing layer 2). Every call is logged as `name` plus the detail a
 * test asserts on; behaviour is set per test. The real activities have their own tests
 * against real servers.
 */
/* eslint-disable @typescript-eslint/require-await -- stand-ins for async activities that resolve at once */
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../workflows/errors.js';

export interface FakeCallScript {
  /** What each dial does, by attempt order; default answered. */
  dial?: (attempt: number) => 'answered' | 'busy' | 'no_answer' | 'rejected' | 'failed';
  dncListed?: boolean;
  /** The agents `retireAgents` finds in the room and removes. Default none. */
  agentsInRoom?: () => string[];
  /** Who `inspectRoom` reports. Default both present. */
  room?: () => { calleePresent: boolean; agentPresent: boolean };
  transfer?: 'ok' | 'refused';
  /** `throws`: the activity fails outright (non-retryable), as with no transcript to read. */
  analysis?: 'ok' | 'failed' | 'throws';
}

export interface LoggedCall {
  name: string;
  input: Record<string, unknown>;
}

export function fakeCallActivities(script: FakeCallScript = {}) {
  const log: LoggedCall[] = [];
  let dials = 0;
  const rec = (name: string, input: unknown) => log.push({ name, input: (input ?? {}) as Record<string, unknown> });
  const activities = {
    recordCall: async (i: unknown) => void rec('recordCall', i),
    // The events a status change announces are written with it (one transaction in the
    // real activity); logged as emitted, in order, like the ones emitted on their own.
    updateCall: async (i: unknown, events: { callId: string; type: string }[] = []) => {
      rec('updateCall', i);
      for (const event of events) rec('emitDomainEvent', event);
    },
    emitDomainEvent: async (i: { callId: string; type: string }) => (rec('emitDomainEvent', i), { id: `${i.callId}:${i.type}` }),
    recordAnswer: async (i: unknown) => void rec('recordAnswer', i),
    recordCallback: async (i: unknown) => void rec('recordCallback', i),
    checkCompliance: async (i: unknown) => {
      rec('checkCompliance', i);
      return script.dncListed ? { allowed: false as const, reason: 'do_not_call' as const } : { allowed: true as const };
    },
    addToDoNotCall: async (i: unknown) => void rec('addToDoNotCall', i),
    createRoom: async (i: unknown) => void rec('createRoom', i),
    hangUp: async (i: unknown) => void rec('hangUp', i),
    // Like the real one: a replacement numbers its events past the band left for its predecessor.
    dispatchAgent: async (i: { generation: number; minNextSeq: number; seqBand?: number }) => (
      rec('dispatchAgent', i), { dispatchId: `AD_${i.generation}`, resumedTurns: 0, ...(i.generation > 0 ? { nextSeq: i.minNextSeq + (i.seqBand ?? 0) } : {}) }
    ),
    retireAgents: async (i: unknown) => (rec('retireAgents', i), { removed: script.agentsInRoom?.() ?? [] }),
    sendControl: async (i: unknown) => void rec('sendControl', i),
    inspectRoom: async (i: unknown) => (rec('inspectRoom', i), script.room?.() ?? { calleePresent: true, agentPresent: true }),
    transferCallee: async (i: unknown) => {
      rec('transferCallee', i);
      if (script.transfer === 'refused') throw ApplicationFailure.create({ type: FailureType.TransferFailed, message: 'REFER refused with 603', nonRetryable: true });
    },
    dialCallee: async (i: { participantIdentity: string }) => {
      rec('dialCallee', i);
      dials++;
      const outcome = script.dial?.(dials) ?? 'answered';
      const fail = (type: FailureType, sipStatusCode?: number) =>
        ApplicationFailure.create({ type, message: `dial ${outcome}`, nonRetryable: type !== FailureType.SipFailed, details: sipStatusCode ? [{ sipStatusCode }] : [] });
      switch (outcome) {
        case 'answered':
          return { participantIdentity: i.participantIdentity, sipCallId: `SCL_fake${dials}` };
        case 'busy':
          throw fail(FailureType.SipBusy, 486);
        case 'no_answer':
          throw fail(FailureType.SipNoAnswer);
        case 'rejected':
          throw fail(FailureType.SipRejected, 603);
        case 'failed':
          // Retryable at the activity level, so make it final for the test: the policy's retries are Temporal's business.
          throw ApplicationFailure.create({ type: FailureType.SipFailed, message: 'dial failed', nonRetryable: true, details: [{ sipStatusCode: 503 }] });
      }
    },
    analyzeCall: async (i: unknown) => {
      rec('analyzeCall', i);
      if (script.analysis === 'throws') throw ApplicationFailure.create({ type: FailureType.InvalidInput, message: 'the call has no transcript to analyse', nonRetryable: true });
      return script.analysis === 'failed'
        ? { status: 'failed' as const, error: 'invalid model output after 3 attempts', attempts: 3 }
        : { status: 'ok' as const, summary: 'The caller agreed to a check-up.', disposition: 'interested', sentiment: 'positive', goalMet: true, fields: {}, attempts: 1 };
    },
  };
  return {
    activities,
    log,
    names: () => log.map((c) => c.name),
    calls: (name: string) => log.filter((c) => c.name === name).map((c) => c.input),
  };
}
