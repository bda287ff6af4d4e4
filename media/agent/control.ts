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
import { callControlSubject } from '../events/subjects.js';
import type { Logger } from '../../deploy/logger.js';

export interface ControlTarget {
  session: voice.AgentSession;
  agent: voice.Agent;
  /** Ends the call with this reason (after any queued speech). */
  hangup(reason: string): void;
}

export function serveControl(nc: NatsConnection, callId: string, target: ControlTarget, log: Logger): Subscription {
  return nc.subscribe(callControlSubject(callId), {
    callback: (err, msg) => {
      if (err) {
        log.error({ err }, 'control subscription failed');
        return;
      }
      const reply = (r: ControlReply) => msg.respond(JSON.stringify(r));
      void (async () => {
        let raw: unknown;
        try {
          raw = msg.json();
        } catch {
          return reply({ ok: false, error: 'command is not JSON' });
        }
        const parsed = controlCommandSchema.safeParse(raw);
        if (!parsed.success) {
          return reply({ ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'command'}: ${i.message}`).join('; ') });
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
          reply({ ok: true });
        } catch (e) {
          log.warn({ err: e, command: cmd.command }, 'control command failed');
          reply({ ok: false, error: e instanceof Error ? e.message : String(e) });
        }
      })();
    },
  });
}
