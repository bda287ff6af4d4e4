/**
 * The shared phrasebook: every line a simulated caller can say, keyed by the tone code
 * the caller plays before it (see dtmf.ts). The caller simulator speaks `text` with
 * espeak-ng after the code; the STT simulator, having decoded the code from the audio,
 * returns `text` as the transcript. Both sides import this one table, so a line is
 * defined once.
 *
 * Codes are three digits grouped by purpose: 1xx conversation, 2xx refusals and
 * compliance, 3xx voicemail, 4xx data-capture answers, 9xx test phrases.
 */

export interface Phrase {
  /** Stable name used by personas and tests. */
  id: string;
  /** Digits played as `*code#` before the speech. */
  code: string;
  /** What the caller says, and what the STT simulator transcribes. */
  text: string;
}

export const phrases = [
  { id: 'hello', code: '101', text: 'Hello?' },
  { id: 'interested', code: '102', text: 'Yes, that sounds interesting. Tell me more.' },
  { id: 'ask_price', code: '103', text: 'How much does it cost?' },
  { id: 'ask_human', code: '104', text: 'Can I speak to a human, please?' },
  { id: 'who_is_this', code: '105', text: 'Sorry, who is this?' },
  { id: 'interrupt', code: '106', text: 'Wait, wait, hold on a second.' },
  { id: 'callback_tomorrow', code: '107', text: 'I am busy right now. Call me back tomorrow at 3 pm.' },
  { id: 'not_interested', code: '201', text: 'No thanks, I am not interested. Goodbye.' },
  { id: 'thanks_bye', code: '203', text: 'Great, thank you. Goodbye.' },
  { id: 'do_not_call', code: '202', text: 'Please remove me from your list and do not call me again.' },
  { id: 'voicemail_greeting', code: '301', text: 'Hi, you have reached Sam. I cannot take your call right now. Please leave a message after the tone.' },
  { id: 'answer_yes', code: '401', text: 'Yes.' },
  { id: 'answer_email', code: '402', text: 'It is sam at example dot com.' },
  { id: 'answer_evening', code: '403', text: 'Evenings are best for me.' },
  { id: 'test_quick_brown_fox', code: '901', text: 'The quick brown fox jumps over the lazy dog.' },
] as const satisfies readonly Phrase[];

export type PhraseId = (typeof phrases)[number]['id'];

/** Looks phrases up by code and by id; a custom table can replace the default in tests. */
export class Phrasebook {
  readonly #byCode = new Map<string, Phrase>();
  readonly #byId = new Map<string, Phrase>();

  constructor(entries: readonly Phrase[] = phrases) {
    for (const p of entries) {
      if (this.#byCode.has(p.code)) throw new Error(`duplicate phrase code ${p.code}`);
      if (this.#byId.has(p.id)) throw new Error(`duplicate phrase id ${p.id}`);
      this.#byCode.set(p.code, p);
      this.#byId.set(p.id, p);
    }
  }

  byCode(code: string): Phrase | undefined {
    return this.#byCode.get(code);
  }

  byId(id: string): Phrase {
    const p = this.#byId.get(id);
    if (!p) throw new RangeError(`unknown phrase id ${id}`);
    return p;
  }
}

export const defaultPhrasebook = new Phrasebook();
