/**
 * Structured output for the OpenAI simulator (`response_format: json_schema`): fills any
 * JSON schema with values read from the conversation in the request, deterministically.
 * The conversation is classified by the same rule table the simulated agent follows, so a
 * caller who opted out is analysed as opted out. Walks objects, enums and scalar types,
 * so a campaign's own fields get plausible values too.
 */
import { messageText, rules, type ChatMessage } from './scenario-rules.js';

type Outcome = 'interested' | 'not_interested' | 'opted_out' | 'transferred' | 'callback_requested' | 'voicemail';

const outcomeByRule: Record<string, Outcome> = {
  voicemail: 'voicemail',
  do_not_call: 'opted_out',
  human: 'transferred',
  callback: 'callback_requested',
  end_call: 'not_interested',
};

/** Good, bad or neither, for picking among enum values ordered best first. */
const leaning: Record<Outcome, 'positive' | 'negative' | 'neutral'> = {
  interested: 'positive',
  callback_requested: 'neutral',
  transferred: 'neutral',
  voicemail: 'neutral',
  not_interested: 'negative',
  opted_out: 'negative',
};

export interface ConversationReading {
  outcome: Outcome;
  callerLines: number;
  summary: string;
}

/** Reads the transcript out of the request: lines starting `caller:` are the callee's. */
export function readConversation(messages: ChatMessage[]): ConversationReading {
  const text = messages.map((m) => messageText(m)).join('\n');
  const callerLines = text
    .split('\n')
    .filter((l) => /^\s*(caller|user|callee)\s*:/i.test(l))
    .map((l) => l.replace(/^\s*\w+\s*:\s*/, ''));
  const said = callerLines.join(' ');
  const rule = rules.find((r) => r.when.test(said));
  const outcome = rule ? (outcomeByRule[rule.name] ?? 'interested') : 'interested';
  const gist: Record<Outcome, string> = {
    interested: 'The caller showed interest in the offer.',
    not_interested: 'The caller was not interested and ended the call.',
    opted_out: 'The caller asked not to be called again.',
    transferred: 'The caller asked to speak with a person.',
    callback_requested: 'The caller asked to be called back later.',
    voicemail: 'The call reached voicemail.',
  };
  return { outcome, callerLines: callerLines.length, summary: `${gist[outcome]} (${callerLines.length} caller turns.)` };
}

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
}

function pickEnum(values: unknown[], key: string, reading: ConversationReading): unknown {
  if (values.includes(reading.outcome)) return reading.outcome;
  const lean = leaning[reading.outcome];
  if (/sentiment/i.test(key) && values.includes(lean)) return lean;
  // Enums are usually ordered best first (high, low, none).
  if (lean === 'positive') return values[0];
  if (lean === 'negative') return values[values.length - 1];
  return values[Math.floor(values.length / 2)];
}

/** A value valid against `schema`, chosen from the conversation. */
export function fillSchema(schema: Schema, reading: ConversationReading, key = ''): unknown {
  if (schema.enum) return pickEnum(schema.enum, key, reading);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, fillSchema(s, reading, k)]));
    case 'array':
      return [];
    case 'boolean':
      return leaning[reading.outcome] === 'positive';
    case 'number':
    case 'integer':
      return 0;
    case 'string':
      return /summary/i.test(key) ? reading.summary : /sentiment/i.test(key) ? leaning[reading.outcome] : 'unknown';
    default:
      return null;
  }
}
