/**
 * Mixes the room's audio tracks into the one stream a phone call carries. Each input is
 * a queue filled by an AudioStream at its own pace; the RTP clock pulls one frame at a
 * time. Queues are capped so a stalled clock never grows latency without bound.
 */

/** The most audio an input may hold before its oldest samples are dropped. */
const MAX_QUEUED_MS = 200;

class MixerInput {
  private readonly chunks: Int16Array[] = [];
  private offset = 0;
  queued = 0;

  constructor(private readonly maxQueued: number) {}

  push(samples: Int16Array): void {
    this.chunks.push(samples);
    this.queued += samples.length;
    while (this.queued > this.maxQueued) this.dropOldest(this.queued - this.maxQueued);
  }

  /** Adds up to `out.length` samples into `out`; missing samples count as silence. */
  addInto(out: Int32Array): void {
    let filled = 0;
    while (filled < out.length && this.chunks.length > 0) {
      const chunk = this.chunks[0];
      if (!chunk) break;
      const take = Math.min(out.length - filled, chunk.length - this.offset);
      for (let i = 0; i < take; i++) out[filled + i] = (out[filled + i] ?? 0) + (chunk[this.offset + i] ?? 0);
      filled += take;
      this.offset += take;
      this.queued -= take;
      if (this.offset >= chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
  }

  private dropOldest(count: number): void {
    const chunk = this.chunks[0];
    if (!chunk) return;
    const drop = Math.min(count, chunk.length - this.offset);
    this.offset += drop;
    this.queued -= drop;
    if (this.offset >= chunk.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}

export class AudioMixer {
  private readonly inputs = new Map<string, MixerInput>();
  private readonly maxQueued: number;

  constructor(readonly sampleRateHz: number) {
    this.maxQueued = Math.round((sampleRateHz * MAX_QUEUED_MS) / 1000);
  }

  /** Appends samples for an input (a track), creating the input on first use. */
  push(inputId: string, samples: Int16Array): void {
    let input = this.inputs.get(inputId);
    if (!input) {
      input = new MixerInput(this.maxQueued);
      this.inputs.set(inputId, input);
    }
    input.push(samples);
  }

  remove(inputId: string): void {
    this.inputs.delete(inputId);
  }

  get inputCount(): number {
    return this.inputs.size;
  }

  /** The next `samples` samples of the mix, clipped to 16 bits; silence when no input has audio. */
  pull(samples: number): Int16Array {
    const sum = new Int32Array(samples);
    for (const input of this.inputs.values()) input.addInto(sum);
    const out = new Int16Array(samples);
    for (let i = 0; i < samples; i++) out[i] = Math.max(-32768, Math.min(32767, sum[i] ?? 0));
    return out;
  }
}
