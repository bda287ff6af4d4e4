/**
 * The bare-session baseline for the media benchmark: the same AgentSession as a Kickcall
 * call (`createAgentSession`, same call-config parsing, same Silero VAD prewarm), with
 * none of our layer: no NATS, no event reporter, no tools, no control subscription, no
 * degrade path. It greets the first participant and answers until the caller leaves.
 * Comparing the two isolates what our layer costs per turn.
 *
 * With KICKCALL_BENCH_TURNS_DIR set, it measures its turns as ours does (`turnMeasurer`,
 * from LiveKit Agents' own message metrics) and writes them to `<dir>/<callId>.json` once
 * the session closes: one file write per call, after its last turn, where ours publishes
 * `turn.metrics` to NATS. The benchmark compares the two agent-side, without the WebRTC
 * path and the simulated caller's noise.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineAgent, voice, type JobContext, type JobProcess, type VAD } from '@livekit/agents';
import { loadConfig } from '../deploy/config.js';
import { parseCallConfig } from '../media/agent/call-config.js';
import { turnMeasurer, type TurnLatency } from '../media/agent/turn-metrics.js';
import { createAgentSession, loadTelephonyVad, roomInputOptions } from '../media/agent/session.js';

export default defineAgent({
  prewarm: async (proc: JobProcess) => {
    // The same VAD settings as Kickcall's agent, so the comparison isolates our layer.
    proc.userData.vad = await loadTelephonyVad();
  },
  entry: async (ctx: JobContext) => {
    const config = loadConfig();
    const call = parseCallConfig(ctx.job.metadata);
    const session = createAgentSession(call, config.providers, ctx.proc.userData.vad as VAD);
    const agent = new voice.Agent({ instructions: call.persona.instructions });
    const turnsDir = process.env.KICKCALL_BENCH_TURNS_DIR;
    if (turnsDir) {
      const measure = turnMeasurer();
      const turns: TurnLatency[] = [];
      session.on(voice.AgentSessionEventTypes.ConversationItemAdded, ({ item }) => {
        const measured = item.type === 'message' ? measure(item) : undefined;
        if (measured) turns.push(measured.body);
      });
      session.on(voice.AgentSessionEventTypes.Close, () => {
        // Whole or not at all (the benchmark reads it as soon as it exists), and never in
        // the way of the shutdown below: a lost file counts as a call with no turns.
        const file = path.join(turnsDir, `${call.callId}.json`);
        try {
          writeFileSync(`${file}.tmp`, JSON.stringify(turns));
          renameSync(`${file}.tmp`, file);
        } catch (err) {
          console.error(`bare agent: could not write ${file}: ${String(err)}`);
        }
      });
    }
    session.on(voice.AgentSessionEventTypes.Close, ({ reason }) => ctx.shutdown(String(reason)));
    await session.start({ agent, room: ctx.room, record: false, inputOptions: roomInputOptions });
    // As in media/agent/entry.ts: greet in the background so `entry` returns.
    void ctx
      .waitForParticipant()
      .then(() => session.say(call.persona.greeting, { allowInterruptions: true }))
      .catch(() => undefined);
  },
});
