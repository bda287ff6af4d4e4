/**
 * Scripted callers. Each persona is a list of steps the caller simulator runs in order;
 * lines come from the shared phrasebook, so the STT simulator can transcribe them.
 */
import type { PhraseId } from './phrasebook.js';

export type PersonaStep =
  /** Wait until the agent has spoken (after our last line) and gone quiet. */
  | { do: 'waitForAgentTurn'; timeoutMs: number }
  /** Speak a phrasebook line (tone code + speech). */
  | { do: 'say'; phrase: PhraseId }
  /** Wait for the agent to start speaking, let it talk `afterMs`, then speak over it. */
  | { do: 'sayOverAgent'; phrase: PhraseId; afterMs: number; timeoutMs: number }
  /** A plain sine tone, e.g. a voicemail beep. */
  | { do: 'tone'; frequencyHz: number; durationMs: number }
  /** Say nothing for a while (silence keeps flowing). */
  | { do: 'silence'; durationMs: number };

export const personaNames = ['interested_then_human', 'not_interested', 'do_not_call', 'voicemail', 'silent', 'talks_over_agent'] as const;
export type PersonaName = (typeof personaNames)[number];

const TURN_TIMEOUT_MS = 20_000;

export const personas: Record<PersonaName, readonly PersonaStep[]> = {
  /** Listens to the pitch, says yes, then asks for a person. */
  interested_then_human: [
    { do: 'waitForAgentTurn', timeoutMs: TURN_TIMEOUT_MS },
    { do: 'say', phrase: 'interested' },
    { do: 'waitForAgentTurn', timeoutMs: TURN_TIMEOUT_MS },
    { do: 'say', phrase: 'ask_human' },
    { do: 'waitForAgentTurn', timeoutMs: TURN_TIMEOUT_MS },
  ],
  not_interested: [
    { do: 'waitForAgentTurn', timeoutMs: TURN_TIMEOUT_MS },
    { do: 'say', phrase: 'not_interested' },
    { do: 'waitForAgentTurn', timeoutMs: TURN_TIMEOUT_MS },
  ],
  do_not_call: [
    { do: 'waitForAgentTurn', timeoutMs: TURN_TIMEOUT_MS },
    { do: 'say', phrase: 'do_not_call' },
    { do: 'waitForAgentTurn', timeoutMs: TURN_TIMEOUT_MS },
  ],
  /** A machine: greets at once without waiting for anyone, beeps, then records silence. */
  voicemail: [
    { do: 'silence', durationMs: 500 },
    { do: 'say', phrase: 'voicemail_greeting' },
    { do: 'silence', durationMs: 300 },
    { do: 'tone', frequencyHz: 1000, durationMs: 500 },
    { do: 'silence', durationMs: 10_000 },
  ],
  /** Picks up and never says a word. */
  silent: [{ do: 'silence', durationMs: 15_000 }],
  /** Cuts into the greeting, then declines. */
  talks_over_agent: [
    { do: 'sayOverAgent', phrase: 'interrupt', afterMs: 800, timeoutMs: TURN_TIMEOUT_MS },
    { do: 'waitForAgentTurn', timeoutMs: TURN_TIMEOUT_MS },
    { do: 'say', phrase: 'not_interested' },
    { do: 'waitForAgentTurn', timeoutMs: TURN_TIMEOUT_MS },
  ],
};
