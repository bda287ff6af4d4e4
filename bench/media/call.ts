/**
 * One simulated call for the benchmark: create the room, dispatch the agent with a call
 * configuration, join as the caller, wait for the greeting to end, then speak N lines,
 * waiting for the agent's reply after each. Every wait is bounded. Voice-to-voice is
 * measured as the caller hears it: from the end of its line to the start of the agent's
 * next speech segment.
 */
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import type { Config } from '../../deploy/config.js';
import type { CallConfigInput } from '../../media/agent/call-config.js';
import { CallerSimulator, createCallerToken, type CallerReport } from '../../media/simulators/caller.js';
import type { PhraseId } from '../../media/simulators/phrasebook.js';
import { withTimeout } from '../../test/helpers/async.js';

/**
 * Lines that get a plain spoken reply under the simulator's `outbound_sales` rules
 * (media/simulators/scenario-rules.ts), with or without tools offered: no compliance,
 * hand-off or end-of-call rule matches them, and after the first reply (which asks
 * "Would you be interested in a free quote?") only questions are said, because a
 * statement would be taken as the answer and call `record_answer` (a tool round trip
 * that the bare session, having no tools, would not make).
 */
export function lineForTurn(turn: number): PhraseId {
  if (turn === 0) return 'interested';
  return turn % 2 === 1 ? 'ask_price' : 'who_is_this';
}

/** The persona's greeting asks no scenario question, so the first line is small talk. */
export const benchPersona = {
  instructions: 'You are Ava, calling from Acme Dental about a free check-up. Be brief.',
  greeting: 'Hi, this is Ava from Acme Dental. Do you have a minute?',
} as const;

export const callTimeouts = {
  /** From joining to the first sound of the greeting (includes a fork when no warm process). */
  greetingStartMs: 30_000,
  /** From the greeting's start to its end. */
  greetingEndMs: 30_000,
  /** From the end of a line to the end of the agent's reply. */
  replyMs: 20_000,
  /** Leaving the room and deleting it at the end. */
  cleanUpMs: 10_000,
} as const;

/**
 * The most a call of `turns` lines may take, its waits above and each line's own length
 * (a phrasebook line is a few seconds) included. Past it the call is given up as
 * an error (`call_deadline`): on a saturated machine a room connect or a caller's audio queue can
 * stall without ever failing, and the level must still end (25 calls on 2 cores waited
 * 14 min for one).
 */
export const callDeadlineMs = (turns: number) => callTimeouts.greetingStartMs + callTimeouts.greetingEndMs + turns * (callTimeouts.replyMs + 10_000 + 500) + 30_000;

/** Pause between the agent's reply ending and the caller's next line, as a person takes. */
export const thinkMs = 500;

export interface MeasuredTurn {
  turn: number;
  phraseId: string;
  lineEndMs: number;
  /** Start of the agent's first speech segment after the line, or null if none. */
  replyStartMs: number | null;
  voiceToVoiceMs: number | null;
  /** Why the turn is left out of the latency figures, if it is. */
  excluded?: 'no_reply' | 'spoken_over_agent' | 'agent_spoke_before_line_end';
}

export interface CallResult {
  callId: string;
  roomName: string;
  /** Epoch ms at dispatch. */
  startedAtMs: number;
  /** Epoch ms when the first line started (the greeting is over). */
  firstLineAtMs: number | null;
  /** Epoch ms when the last reply ended (or the call gave up). */
  finishedAtMs: number;
  greetingHeardAfterJoinMs: number | null;
  turns: MeasuredTurn[];
  timeouts: string[];
  error?: string;
}

export interface CallClients {
  config: Config;
  rooms: RoomServiceClient;
  dispatch: AgentDispatchClient;
}

export function createCallClients(config: Config): CallClients {
  const { httpUrl, apiKey, apiSecret } = config.livekit;
  return { config, rooms: new RoomServiceClient(httpUrl, apiKey, apiSecret), dispatch: new AgentDispatchClient(httpUrl, apiKey, apiSecret) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function runCall(clients: CallClients, opts: { agentName: string; callId: string; turns: number }): Promise<CallResult> {
  const { config, rooms, dispatch } = clients;
  const roomName = `room_${opts.callId}`;
  const startedAtMs = Date.now();
  const result: CallResult = {
    callId: opts.callId,
    roomName,
    startedAtMs,
    firstLineAtMs: null,
    finishedAtMs: startedAtMs,
    greetingHeardAfterJoinMs: null,
    turns: [],
    timeouts: [],
  };
  let caller: CallerSimulator | undefined;
  try {
    await rooms.createRoom({ name: roomName, emptyTimeout: 30 });
    const metadata: CallConfigInput = { v: 1, callId: opts.callId, tenantId: 'bench', persona: benchPersona };
    await dispatch.createDispatch(roomName, opts.agentName, { metadata: JSON.stringify(metadata) });
    const token = await createCallerToken({ apiKey: config.livekit.apiKey, apiSecret: config.livekit.apiSecret, room: roomName, identity: 'callee' });
    const simulator = (caller = new CallerSimulator({ wsUrl: config.livekit.wsUrl, token }));
    await withTimeout(
      simulator.join().then(() => converse(simulator, opts.turns, result)),
      callDeadlineMs(opts.turns),
      `call_deadline: not over after ${callDeadlineMs(opts.turns)} ms`,
    );
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    result.finishedAtMs = Date.now();
    const report = caller ? await withTimeout(caller.leave(), callTimeouts.cleanUpMs, 'leave').catch(() => caller!.report()) : undefined;
    if (report) {
      result.greetingHeardAfterJoinMs = report.greetingHeardAtMs;
      result.turns = measureTurns(report);
      result.timeouts.push(...report.timeouts);
    }
    await withTimeout(rooms.deleteRoom(roomName), callTimeouts.cleanUpMs, 'deleteRoom').catch(() => undefined);
  }
  return result;
}

async function converse(caller: CallerSimulator, turns: number, result: CallResult): Promise<void> {
  if (!(await caller.waitForAgentSpeech({ timeoutMs: callTimeouts.greetingStartMs }))) {
    result.timeouts.push('greeting_start');
    return;
  }
  if (!(await caller.waitForAgentTurn({ timeoutMs: callTimeouts.greetingEndMs }))) {
    result.timeouts.push('greeting_end');
    return;
  }
  for (let turn = 0; turn < turns; turn++) {
    await sleep(thinkMs);
    if (turn === 0) result.firstLineAtMs = Date.now();
    const line = await caller.say(lineForTurn(turn));
    if (!(await caller.waitForAgentTurn({ afterMs: line.endMs, timeoutMs: callTimeouts.replyMs }))) {
      result.timeouts.push(`reply_${turn}`);
      return;
    }
  }
}

/** Pairs each line with the agent's next speech segment, from the caller's own report. */
export function measureTurns(report: CallerReport): MeasuredTurn[] {
  return report.linesSpoken.map((line, turn) => {
    const nextLineStart = report.linesSpoken[turn + 1]?.startMs ?? Infinity;
    const measured: MeasuredTurn = { turn, phraseId: line.phraseId, lineEndMs: line.endMs, replyStartMs: null, voiceToVoiceMs: null };
    if (line.overAgent) return { ...measured, excluded: 'spoken_over_agent' };
    // The agent still talking when the line ended (a reply to noise, a late greeting) hides the real reply.
    const talking = report.agentSegments.some((s) => s.startMs < line.endMs && (s.endMs ?? Infinity) > line.endMs);
    if (talking) return { ...measured, excluded: 'agent_spoke_before_line_end' };
    const reply = report.agentSegments.find((s) => s.startMs >= line.endMs && s.startMs < nextLineStart);
    if (!reply) return { ...measured, excluded: 'no_reply' };
    return { ...measured, replyStartMs: reply.startMs, voiceToVoiceMs: reply.startMs - line.endMs };
  });
}
