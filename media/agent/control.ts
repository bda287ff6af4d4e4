/**
 * The call's control channel: request/reply on NATS, one subject per call. The call
 * workflow's activities send `say`, `hangup`, `transfer_notice` and
 * `update_instructions`; every command is validated and acknowledged, and a
 * `transfer_notice` is acknowledged only after it has been spoken, so the transfer that
 * follows never cuts the notice off.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { voice } from '@livekit/agents';
import { controlCommandSchema, type ControlReply } from '../events/schema.js';
import { callControlSubject, controlCommandIdHeader } from '../events/subjects.js';
import type { Logger } from '../../deploy/logger.js';

export interface ControlTarget {
  session: voice.AgentSession;
  agent: voice.Agent;
  /** Ends the call with this reason (after any queued speech). */
  hangup(reason: string): void;
}

/** Commands remembered by ID, for their retries: the last few are enough (one call, one at a time). */
const rememberedCommands = 64;

export function serveControl(nc: NatsConnection, callId: string, target: ControlTarget, log: Logger): Subscription {
  const applied = new Map<string, Promise<ControlReply>>();
  return nc.subscribe(callControlSubject(callId), {
    callback: (err, msg) => {
      if (err) {
        log.error({ err }, 'control subscription failed');
        return;
      }
      const commandId = msg.headers?.get(controlCommandIdHeader) || undefined;
      // A retry is answered with the first one's outcome (once it has one), not applied again.
      let outcome = commandId === undefined ? undefined : applied.get(commandId);
      if (!outcome) {
        outcome = apply(msg.json.bind(msg));
        if (commandId !== undefined) {
          applied.set(commandId, outcome);
          if (applied.size > rememberedCommands) applied.delete(applied.keys().next().value!);
        }
      }
      void outcome.then((r) => msg.respond(JSON.stringify(r)));
    },
  });

  /** Validates and carries out one command; never rejects. */
  async function apply(json: () => unknown): Promise<ControlReply> {
    let raw: unknown;
    try {
      raw = json();
    } catch {
      return { ok: false, error: 'command is not JSON' };
    }
    const parsed = controlCommandSchema.safeParse(raw);
    if (!parsed.success) {
      return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'command'}: ${i.message}`).join('; ') };
    }
    const cmd = parsed.data;
    try {
      switch (cmd.command) {
        case 'say':
          target.session.say(cmd.text, { allowInterruptions: cmd.allowInterruptions });
          break;
        case 'transfer_notice':
          await target.session.say(cmd.text, { allowInterruptions: false }).waitForPlayout();
          break;
        case 'update_instructions':
          await target.agent.updateInstructions(cmd.instructions);
          break;
        case 'hangup':
          target.hangup(cmd.reason);
          break;
        case 'ping':
          break;
      }
      if (cmd.command !== 'ping') log.info({ command: cmd.command }, 'control command applied');
      return { ok: true };
    } catch (e) {
      log.warn({ err: e, command: cmd.command }, 'control command failed');
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }
}
