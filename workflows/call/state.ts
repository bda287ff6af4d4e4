/**
 * A call's state inside its workflow: the compact facts it decides on, fed by signals.
 * Call events arrive at least once and in any order (several bridge instances); they are
 * applied exactly once, in `seq` order. A gap waits a moment for the missing event, then
 * is skipped so one lost message cannot stall a live call. Plain data and pure methods:
 * time comes from the workflow's deterministic clock.
 */
import type { CallEventSignal, CallPhase, RoomEventSignal } from '../messages.js';

/** Something the workflow must act on with an activity, in the order it was asked. */
export type Decision =
  | { kind: 'transfer'; seq: number }
  | { kind: 'do_not_call'; seq: number }
  /** `when` only in events signalled before the bridge wrote callbacks itself. */
  | { kind: 'callback'; seq: number; when?: string }
  /** `value` only in events signalled before the bridge wrote answers itself. */
  | { kind: 'answer'; seq: number; field: string; value?: string };

export type EndedBy = 'agent' | 'caller' | 'room' | 'workflow';

/**
 * Events applied even when they arrive after their gap was skipped: what they record does
 * not depend on order. Which agent is current does, so joins and leaves are not among them.
 */
const lateKinds: ReadonlySet<CallEventSignal['type']> = new Set(['tool.requested', 'call.ended', 'user.turn', 'agent.turn']);

/**
 * What a superseded agent may still publish that counts: what the caller said or asked for
 * before it was cut off. Its `call.ended` does not (a replacement holds the call), nor its
 * joins and leaves.
 */
const strayKinds: ReadonlySet<CallEventSignal['type']> = new Set(['tool.requested', 'user.turn', 'agent.turn']);

/** Seqs left free before a replacement agent's first, for its predecessor's last events. */
export const replacementSeqBand = 100;

/** How long a missing `seq` may hold back later events. */
export const sequenceGapMs = 3_000;

export class CallState {
  status: CallPhase = 'scheduled';
  /**
   * Whether any non-retryable agent error ends the call, as it did before provider
   * failures were left to the agent's fallback. The workflow answers with `patched()` so
   * histories recorded before then replay as they ran.
   */
  providerErrorEndsCall: () => boolean = () => false;
  /** The next `seq` to apply. */
  nextSeq = 1;
  /** Events that arrived ahead of a missing one, by seq. */
  private pending: Record<number, CallEventSignal> = {};
  /** When the current gap was first seen; undefined when there is none. */
  gapSinceMs: number | undefined;
  private roomEventIds: string[] = [];
  /** Bumped on every signal, so waits can wake on "something happened". */
  version = 0;

  /** When the callee answered (workflow time); undefined before. */
  answeredAtMs: number | undefined;
  turns = 0;
  /** Last turn from either side (workflow time). */
  lastTurnAtMs = 0;
  /** Last turn from the caller. */
  lastCallerTurnAtMs = 0;
  /** Agents that joined the call (1 normally, more after a media worker was lost). */
  agentsJoined = 0;
  /** Agents dispatched so far, minus one: 0 for the first agent. */
  generation = 0;
  agentIdentity: string | undefined;
  /** Agents taken out of the room for a replacement: their leaving is expected. */
  supersededAgents: string[] = [];
  /**
   * True while the workflow takes the agents out of the room: whoever leaves then is being
   * removed (the replacement is not sent yet), even one whose leave arrives before the
   * workflow learns who was removed.
   */
  retiring = false;
  /**
   * Seqs of superseded agents: from the first the workflow had not seen when it gave the
   * agent up, to the replacement's first (unknown until its dispatch returns: then only the
   * band's width is sure to be the old agent's, `replacementSeqBand`).
   */
  private fences: { fromSeq: number; toSeq: number | undefined }[] = [];
  /** Seqs of superseded agents' events applied already (a redelivery changes nothing). */
  private strays: number[] = [];
  /** Set when the current agent is gone but the call is not over. */
  agentLost: { atMs: number; cause: 'agent_left' | 'participant_left' | 'unreachable' | 'silence' } | undefined;
  ended: { reason: string; by: EndedBy } | undefined;
  voicemailAtMs: number | undefined;
  optedOut = false;
  transferred = false;
  /** Tool requests awaiting the workflow's action, in seq order. */
  decisions: Decision[] = [];

  constructor(readonly calleeIdentity: string | undefined) {}

  end(reason: string, by: EndedBy): void {
    this.ended ??= { reason, by };
  }

  /** Seqs given up on by `skipGap`: one that turns up after all is applied then, once. */
  private skipped: number[] = [];
  /**
   * Whether an event that arrives after its gap was skipped is applied (late) rather than
   * dropped, as it was before. The workflow answers with `patched()`.
   */
  lateEventsApplied: () => boolean = () => true;

  /** Takes a call event from the bridge: duplicates are dropped, early ones held. */
  offer(event: CallEventSignal, nowMs: number): void {
    this.version++;
    if (this.fences.some((f) => event.seq >= f.fromSeq && event.seq < (f.toSeq ?? f.fromSeq + replacementSeqBand))) return this.offerStray(event, nowMs);
    if (event.seq < this.nextSeq && this.skipped.includes(event.seq) && event.seq < (this.fences.at(-1)?.fromSeq ?? 0)) {
      // Skipped before an agent was superseded: its, like what it publishes now.
      this.skipped = this.skipped.filter((seq) => seq !== event.seq);
      return this.offerStray(event, nowMs);
    }
    if (event.seq < this.nextSeq && lateKinds.has(event.type) && this.skipped.includes(event.seq) && this.lateEventsApplied()) {
      // An opt-out, a transfer request or the call's end must not be lost for arriving late.
      this.skipped = this.skipped.filter((seq) => seq !== event.seq);
      this.apply(event, nowMs);
      return;
    }
    if (event.seq < this.nextSeq || this.pending[event.seq] !== undefined) return;
    this.pending[event.seq] = event;
    this.applyReady(nowMs);
  }

  /**
   * The current agent is given up on: whatever it still publishes (seqs from here on, up to
   * its replacement's first) counts only for what the caller said or asked for
   * (`offerStray`); its joins, leaves and end of job change nothing. Its replacement's
   * events wait until `replacementStarts` says where they begin.
   */
  agentSuperseded(identity: string | undefined, nowMs: number): void {
    if (identity !== undefined) this.supersede([identity]);
    // Only agents publish call events: whatever is not applied yet (held behind a gap, or
    // still on its way) is the superseded agent's.
    const fromSeq = this.nextSeq;
    this.fences = [...this.fences.slice(-3), { fromSeq, toSeq: undefined }];
    this.releaseHeld(fromSeq, fromSeq + replacementSeqBand, nowMs);
  }

  /** The replacement numbers its events from `toSeq` (past the band its dispatch left). */
  replacementStarts(toSeq: number | undefined, nowMs: number): void {
    const open = this.fences.at(-1);
    if (!open || open.toSeq !== undefined) return;
    open.toSeq = Math.max(toSeq ?? open.fromSeq + replacementSeqBand, open.fromSeq);
    this.releaseHeld(open.fromSeq, open.toSeq, nowMs);
  }

  /** Held events with seqs in [fromSeq, toSeq) are a superseded agent's: strays, then the rest moves on. */
  private releaseHeld(fromSeq: number, toSeq: number, nowMs: number): void {
    for (const seq of Object.keys(this.pending).map(Number)) {
      const held = this.pending[seq];
      if (held && seq >= fromSeq && seq < toSeq) {
        delete this.pending[seq];
        this.offerStray(held, nowMs);
      }
    }
    this.applyReady(nowMs);
  }

  /** Agents removed from the room for a replacement. */
  supersede(identities: string[]): void {
    this.supersededAgents = [...new Set([...this.supersededAgents, ...identities])].slice(-8);
  }

  /** An event of a superseded agent: applied once if it records what the caller said or asked. */
  private offerStray(event: CallEventSignal, nowMs: number): void {
    if (!strayKinds.has(event.type) || this.strays.includes(event.seq)) return;
    this.strays = [...this.strays.slice(-31), event.seq];
    this.apply(event, nowMs);
  }

  /** Gives up on the missing event(s) and applies from the earliest one held. */
  skipGap(nowMs: number): void {
    if (this.awaitingReplacement) return;
    const held = Object.keys(this.pending).map(Number);
    if (held.length === 0) return;
    const resumeAt = Math.min(...held);
    // Bounded: a call skips few gaps, and only recent ones can still arrive.
    for (let seq = Math.max(this.nextSeq, resumeAt - 32); seq < resumeAt; seq++) this.skipped = [...this.skipped.slice(-31), seq];
    this.nextSeq = resumeAt;
    this.applyReady(nowMs);
  }

  /** The lowest seq a replacement agent may publish with: past everything seen. */
  get seqHighWater(): number {
    return Math.max(this.nextSeq, ...Object.keys(this.pending).map((s) => Number(s) + 1));
  }

  onRoomEvent(event: RoomEventSignal, nowMs: number): void {
    this.version++;
    if (this.roomEventIds.includes(event.eventId)) return;
    this.roomEventIds = [...this.roomEventIds.slice(-49), event.eventId];
    if (event.event === 'room_finished') return this.end('room_closed', 'room');
    if (event.event !== 'participant_left') return;
    if (event.participantIdentity !== undefined && event.participantIdentity === this.calleeIdentity) {
      return this.end('caller_hung_up', 'caller');
    }
    // An agent removed for a replacement leaves as expected, even before the new one joins.
    if (event.participantIdentity !== undefined && this.supersededAgents.includes(event.participantIdentity)) return;
    if (this.retiring && event.participantKind === 'agent') return;
    const ours = this.agentIdentity === undefined || event.participantIdentity === this.agentIdentity;
    if (event.participantKind === 'agent' && ours && !this.ended) {
      this.agentLost ??= { atMs: nowMs, cause: 'participant_left' };
    }
  }

  /** The current agent's process is gone (the bridge's watch); an earlier agent's loss changes nothing. */
  onAgentUnreachable(participantIdentity: string, nowMs: number): void {
    this.version++;
    if (this.ended || participantIdentity !== this.agentIdentity) return;
    this.agentLost ??= { atMs: nowMs, cause: 'unreachable' };
  }

  private applyReady(nowMs: number): void {
    let open = this.passFences();
    for (let e = this.pending[this.nextSeq]; open && e !== undefined; e = this.pending[this.nextSeq]) {
      delete this.pending[this.nextSeq];
      this.nextSeq++;
      this.apply(e, nowMs);
      open = this.passFences();
    }
    // Held events past an open fence wait for the replacement's first seq, not for a gap.
    this.gapSinceMs = Object.keys(this.pending).length > 0 && !this.awaitingReplacement ? (this.gapSinceMs ?? nowMs) : undefined;
  }

  /** A replacement was sent and its first seq is not known yet. */
  private get awaitingReplacement(): boolean {
    const last = this.fences.at(-1);
    return last !== undefined && last.toSeq === undefined;
  }

  /**
   * Steps over a superseded agent's seqs: nothing in them is awaited. At an open fence
   * nothing more is applied until the replacement's first seq is known.
   */
  private passFences(): boolean {
    for (const f of this.fences) {
      if (this.nextSeq < f.fromSeq) continue;
      if (f.toSeq === undefined) return false;
      if (this.nextSeq < f.toSeq) this.nextSeq = f.toSeq;
    }
    return true;
  }

  private apply(e: CallEventSignal, nowMs: number): void {
    switch (e.type) {
      case 'agent.joined':
        this.agentsJoined++;
        this.agentIdentity = e.participantIdentity;
        this.agentLost = undefined;
        this.lastTurnAtMs = nowMs;
        return;
      case 'user.turn':
        this.lastCallerTurnAtMs = nowMs;
        this.turns++;
        this.lastTurnAtMs = nowMs;
        return;
      case 'agent.turn':
        this.turns++;
        this.lastTurnAtMs = nowMs;
        return;
      case 'tool.requested':
        return this.onTool(e, nowMs);
      case 'call.ended':
        return this.end(e.reason, 'agent');
      case 'agent.left':
        if (e.reason === 'participant_left') return this.end('caller_hung_up', 'caller');
        if ((e.reason === 'drained' || e.reason === 'error') && !this.ended) {
          this.agentLost = { atMs: nowMs, cause: 'agent_left' };
        }
        return;
      case 'agent.error':
        if (e.retryable) return;
        // Bad dispatch metadata cannot be fixed by another agent: end the call. A provider
        // failure is the agent's to handle: its fallback asks for a transfer or says goodbye
        // (call.ended), and an agent that gives up leaves (agent.left) and is replaced.
        if (e.code === 'invalid_metadata' || this.providerErrorEndsCall()) this.end(`agent_error:${e.code}`, 'agent');
        return;
      case 'turn.metrics':
      case 'usage':
        return;
    }
  }

  private onTool(e: Extract<CallEventSignal, { type: 'tool.requested' }>, nowMs: number): void {
    const text = (key: string) => (typeof e.args[key] === 'string' ? e.args[key] : '');
    switch (e.name) {
      case 'transfer_to_human':
        this.decisions.push({ kind: 'transfer', seq: e.seq });
        return;
      case 'do_not_call':
        this.optedOut = true;
        this.decisions.push({ kind: 'do_not_call', seq: e.seq });
        return;
      case 'voicemail_detected':
        this.voicemailAtMs ??= nowMs;
        return;
      case 'schedule_callback':
        this.decisions.push({ kind: 'callback', seq: e.seq, ...('when' in e.args ? { when: text('when') } : {}) });
        return;
      case 'record_answer':
        if (text('field')) this.decisions.push({ kind: 'answer', seq: e.seq, field: text('field'), ...('value' in e.args ? { value: text('value') } : {}) });
        return;
      case 'end_call':
        // The agent closes the call itself; `call.ended` follows.
        return;
    }
  }
}
