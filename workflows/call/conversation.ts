/**
 * The live part of a call, shared by outbound and inbound calls: follow the conversation
 * from the agent's events, act on its tool requests, keep the call within its limits, and
 * replace the agent when its media worker is lost. Returns when the call is over; the
 * caller of this function hangs up.
 */
import { ActivityFailure, ApplicationFailure, condition, log, patched, setCurrentDetails } from '@temporalio/workflow';
import type { CallConfigInput } from '../../media/agent/call-config.js';
import { FailureType } from '../errors.js';
import { DeadlineTimer } from './deadline-timer.js';
import type { CallState, Decision } from './state.js';
import { replacementSeqBand, sequenceGapMs } from './state.js';
import type { CallLimits, OutboundCallInput } from './types.js';
import { withSummary } from './activities.js';

export interface Conversation {
  callId: string;
  tenantId: string;
  roomName: string;
  calleeIdentity: string;
  /** The number on the line, for an opt-out; unknown on inbound calls. */
  callTo?: string;
  agentConfig: Omit<CallConfigInput, 'resume'>;
  transfer?: OutboundCallInput['transfer'];
  limits: Required<CallLimits>;
}

export const defaultLimits: Required<CallLimits> = { ringingTimeoutS: 30, maxDurationS: 600, silenceTimeoutS: 30 };

/** Agents one call may use: the first and two replacements. */
const maxAgents = 3;
/** A lost agent's own `call.ended` may still be in flight: wait this long before replacing it. */
const agentLossGraceMs = 2_000;
/** After voicemail is detected, the agent leaves its message; past this, the workflow hangs up. */
const voicemailMessageMaxMs = 60_000;

export const lines = {
  stillThere: 'Are you still there?',
  transferNotice: 'I am transferring you now. Please stay on the line.',
  transferFailed: 'I am sorry, I could not connect you right now. Someone will call you back.',
} as const;

export async function converse(state: CallState, call: Conversation): Promise<void> {
  const hardEndAt = Date.now() + call.limits.maxDurationS * 1000;
  const silenceMs = call.limits.silenceTimeoutS * 1000;
  state.lastTurnAtMs = Date.now();
  /** When the caller was asked whether they are still there; cleared when they speak. */
  let promptedAtMs: number | undefined;
  // A fired timer is judged by the deadline it was set for, not by Date.now(): the task's
  // clock can be stale after a crash and a query (README, "Known SDK race"), and a choice
  // made by it would not replay.
  const judgeByDeadline = patched('timer-judged-by-its-deadline');
  // Calls from before this cancelled and restarted their timer at every event.
  const timer = patched('deadline-timer-kept') ? new DeadlineTimer() : undefined;
  showStatus(state);

  // Decisions already asked for are carried out even when the call has just ended: an
  // opt-out or an answer given in the last breath still counts.
  while (!state.ended || state.decisions.length > 0) {
    const decision = state.decisions.shift();
    if (decision) {
      await decide(decision, state, call);
      continue;
    }
    if (state.agentLost) {
      await replaceAgent(state, call);
      continue;
    }
    const deadlines = [hardEndAt, state.lastTurnAtMs + silenceMs];
    if (state.gapSinceMs !== undefined) deadlines.push(state.gapSinceMs + sequenceGapMs);
    if (state.voicemailAtMs !== undefined) deadlines.push(state.voicemailAtMs + voicemailMessageMaxMs);
    const seen = state.version;
    const woken = () => state.version !== seen || state.ended !== undefined;
    const wakeAtMs = Math.min(...deadlines);
    let firedAtMs: number | undefined;
    if (timer) firedAtMs = await timer.wait(woken, wakeAtMs, Date.now());
    else if (!(await condition(woken, Math.max(1, wakeAtMs - Date.now())))) firedAtMs = wakeAtMs;
    if (firedAtMs === undefined) {
      if (promptedAtMs !== undefined && state.lastCallerTurnAtMs > promptedAtMs) promptedAtMs = undefined;
      showStatus(state);
      continue;
    }

    // A deadline has come (or a kept timer for an earlier one fired, and nothing is due
    // yet); any other that passed meanwhile fires on the next turn.
    const now = judgeByDeadline ? firedAtMs : Date.now();
    if (now >= hardEndAt) {
      state.end('max_duration', 'workflow');
    } else if (state.voicemailAtMs !== undefined && now >= state.voicemailAtMs + voicemailMessageMaxMs) {
      state.end('voicemail', 'workflow');
    } else if (state.gapSinceMs !== undefined && now >= state.gapSinceMs + sequenceGapMs) {
      log.warn('skipping a gap in call events', { nextSeq: state.nextSeq });
      state.skipGap(now);
    } else if (now >= state.lastTurnAtMs + silenceMs) {
      promptedAtMs = await onSilence(state, call, promptedAtMs);
    }
  }
  timer?.cancel();
}

/**
 * Nothing said for a while: is everyone still there? Prompt once, then end the call if
 * the caller still says nothing. Returns when the caller was prompted, if they were.
 */
async function onSilence(state: CallState, call: Conversation, promptedAtMs: number | undefined): Promise<number | undefined> {
  const room = await withSummary('agent', 'who is still in the room').inspectRoom({ roomName: call.roomName, calleeIdentity: call.calleeIdentity });
  if (!room.calleePresent) {
    state.end('caller_hung_up', 'caller');
  } else if (!room.agentPresent || !(await sendToAgent(call, { command: 'ping' }, 'is the agent alive?'))) {
    // LiveKit may still list an agent whose machine died (it waits for a reconnect);
    // an agent that cannot answer a ping is gone either way.
    state.agentLost = { atMs: Date.now(), cause: 'silence' };
  } else if (promptedAtMs !== undefined) {
    state.end('silence_timeout', 'workflow');
  } else {
    await sendToAgent(call, { command: 'say', text: lines.stillThere, allowInterruptions: true }, 'ask whether the caller is still there');
    state.lastTurnAtMs = Date.now();
    return Date.now();
  }
  return promptedAtMs;
}

/** Dispatches a new agent with the conversation so far; the callee stays on the line. */
async function replaceAgent(state: CallState, call: Conversation): Promise<void> {
  const lost = state.agentLost;
  if (!lost) return;
  // The agent may have ended the call just before it went: give its last events a moment.
  await condition(() => state.ended !== undefined, Math.max(1, lost.atMs + agentLossGraceMs - Date.now()));
  if (state.ended) return;
  // An agent joined meanwhile (a late join, or the lost one back): nothing to replace.
  if (!state.agentLost && patched('replacement-rechecked-after-grace')) return;
  const room = await withSummary('agent', 'check the room before replacing the agent').inspectRoom({
    roomName: call.roomName,
    calleeIdentity: call.calleeIdentity,
  });
  if (!room.calleePresent) return state.end('caller_hung_up', 'caller');
  if (state.generation + 1 >= maxAgents) {
    // No agent stays on the line (a provider down for every one of them, say): the call's
    // fallback still holds, and a transfer needs no agent. Calls from before hung up.
    if (call.agentConfig.fallback === 'transfer' && call.transfer && patched('fallback-without-an-agent')) {
      log.warn('no agent could keep the call; transferring as its fallback says', { agents: state.generation + 1 });
      await transfer(state, call, { withoutAgent: true });
    }
    return state.end('agent_unavailable', 'workflow');
  }

  // Histories from before this sent the replacement alongside whatever was left of the old agent.
  const retire = patched('superseded-agents-retired');
  const lostIdentity = state.agentIdentity;
  state.generation++;
  state.agentLost = undefined;
  state.agentIdentity = undefined;
  setCurrentDetails(`Agent lost (${lost.cause}); dispatching replacement #${state.generation} with the conversation so far`);
  log.warn('media agent lost, resuming the call with a new agent', { cause: lost.cause, generation: state.generation });
  if (retire) {
    // One that stopped answering may yet come back: it must not talk over its replacement.
    state.agentSuperseded(lostIdentity, Date.now());
    await retireAgents(state, call, 'remove the lost agent from the room');
  }
  const dispatched = await withSummary('agent', `resume with agent #${state.generation + 1}`).dispatchAgent({
    roomName: call.roomName,
    config: call.agentConfig,
    generation: state.generation,
    minNextSeq: state.seqHighWater,
    ...(retire ? { seqBand: replacementSeqBand } : {}),
  });
  if (retire) state.replacementStarts(dispatched.nextSeq, Date.now());
  // Give the new agent the whole silence allowance to join.
  state.lastTurnAtMs = Date.now();
}

/** Takes every agent out of the room; their leaving (seen meanwhile or later) sends no replacement. */
async function retireAgents(state: CallState, call: Conversation, summary: string): Promise<void> {
  state.retiring = true;
  try {
    state.supersede((await withSummary('agent', summary).retireAgents({ roomName: call.roomName })).removed);
  } finally {
    state.retiring = false;
  }
}

async function decide(decision: Decision, state: CallState, call: Conversation): Promise<void> {
  switch (decision.kind) {
    case 'transfer':
      return transfer(state, call);
    case 'do_not_call':
      if (call.callTo === undefined) {
        log.warn('opt-out on a call without a known number; nothing to add to the list');
        return;
      }
      // At once, before the call ends: the list must hold even if the call then fails.
      // It also takes the number out of every campaign of the tenant.
      await withSummary('records', 'add the number to the do-not-call list').addToDoNotCall({
        tenantId: call.tenantId,
        callTo: call.callTo,
        source: `call:${call.callId}`,
      });
      return;
    case 'callback':
      // Written by the bridge; only events signalled with their time are recorded here.
      if (decision.when === undefined) return;
      return withSummary('records', 'record the callback request').recordCallback({ callId: call.callId, seq: decision.seq, when: decision.when });
    case 'answer':
      // The bridge has written it: the caller's answer never enters this history.
      if (decision.value === undefined) return;
      return withSummary('records', `record answer "${decision.field}"`).recordAnswer({
        callId: call.callId,
        seq: decision.seq,
        field: decision.field,
        value: decision.value,
      });
  }
}

/**
 * Cold transfer to the configured target. `withoutAgent`: no agent can keep the call, so
 * none is asked to announce it (a hung one would hold the caller in silence for the
 * control command's timeout) and any still in the room is taken out first.
 */
async function transfer(state: CallState, call: Conversation, opts: { withoutAgent?: boolean } = {}): Promise<void> {
  if (state.ended) return;
  if (!call.transfer) {
    // The agent already told the caller nobody is available; nothing to do.
    log.info('transfer requested but none is configured');
    return;
  }
  state.status = 'transferring';
  showStatus(state);
  if (opts.withoutAgent) {
    await retireAgents(state, call, 'remove the agents before the transfer');
  } else {
    await sendToAgent(call, { command: 'transfer_notice', text: call.transfer.notice ?? lines.transferNotice }, 'tell the caller about the transfer');
  }
  try {
    await withSummary('telephony', 'cold transfer (SIP REFER)').transferCallee({
      roomName: call.roomName,
      participantIdentity: call.calleeIdentity,
      transferTo: call.transfer.to,
    });
    state.transferred = true;
    state.end('transferred', 'workflow');
  } catch (err) {
    if (!(err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FailureType.TransferFailed)) throw err;
    log.warn('transfer failed; the conversation continues', { error: err.cause.message });
    state.status = 'in_progress';
    if (opts.withoutAgent) return;
    await sendToAgent(call, { command: 'say', text: lines.transferFailed, allowInterruptions: true }, 'tell the caller the transfer failed');
  }
}

/**
 * Control commands are best effort: an agent that is gone is handled by the loss path.
 * Resolves whether the agent acknowledged the command.
 */
async function sendToAgent(call: Conversation, command: Parameters<ReturnType<typeof withSummary>['sendControl']>[0]['command'], summary: string): Promise<boolean> {
  try {
    await withSummary(command.command === 'ping' ? 'agent' : 'control', summary).sendControl({ callId: call.callId, command });
    return true;
  } catch (err) {
    log.warn('control command not delivered', { command: command.command, error: (err as Error).message });
    return false;
  }
}

function showStatus(state: CallState): void {
  setCurrentDetails(
    `**${state.status}** · ${state.turns} turns · agent #${state.generation + 1}${state.agentIdentity ? ` (${state.agentIdentity})` : ''}` +
      (state.optedOut ? ' · opted out' : '') +
      (state.voicemailAtMs !== undefined ? ' · voicemail' : ''),
  );
}
