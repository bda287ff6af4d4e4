/**
 * What a simulated callee on a SIP line says, as a raw PCMU (G.711 µ-law, 8 kHz) file
 * that SIPp streams as RTP (`rtp_stream`): silence while the agent greets, then each
 * phrase (tone code and speech, exactly as the caller simulator renders it) with a pause
 * between. The STT simulator recognises the phrases by their tone codes, so an end-to-end
 * call over SIP has a scripted, checkable conversation.
 */
import { concatSamples } from '../audio.js';
import { encodeSamples } from './codecs.js';
import { defaultPhrasebook, type PhraseId } from './phrasebook.js';
import { renderUtterance } from './utterance.js';

export interface CalleeScriptOptions {
  /** Silence before the first phrase (the agent's greeting), ms. Default 6000. */
  leadSilenceMs?: number;
  /** Silence between phrases (the agent's replies), ms. Default 6000. */
  gapMs?: number;
  /** Silence after the last phrase, so the line stays open for the agent's answer, ms. Default 8000. */
  tailSilenceMs?: number;
}

const rate = 8000;

export async function renderCalleeScript(phraseIds: PhraseId[], opts: CalleeScriptOptions = {}): Promise<Buffer> {
  const silence = (ms: number) => new Int16Array(Math.round((rate * ms) / 1000));
  const parts: Int16Array[] = [silence(opts.leadSilenceMs ?? 6000)];
  for (const [i, id] of phraseIds.entries()) {
    if (i > 0) parts.push(silence(opts.gapMs ?? 6000));
    parts.push(await renderUtterance(defaultPhrasebook.byId(id), rate));
  }
  parts.push(silence(opts.tailSilenceMs ?? 8000));
  return encodeSamples(concatSamples(parts), 'mulaw');
}
