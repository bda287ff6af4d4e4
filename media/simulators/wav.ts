/**
 * Minimal RIFF/WAVE reading and writing for 16-bit PCM. espeak-ng's `--stdout` writes a
 * streaming header whose data size is a placeholder (0x7ffff000), so the reader trusts
 * the bytes actually present, not the declared size.
 */

export interface PcmAudio {
  samples: Int16Array;
  sampleRate: number;
}

export class WavFormatError extends Error {
  override readonly name = 'WavFormatError';
  readonly retryable = false;
}

export function parseWav(bytes: Buffer): PcmAudio & { channels: number } {
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavFormatError('not a RIFF/WAVE file');
  }
  let offset = 12;
  let sampleRate = 0;
  let channels = 0;
  let bits = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = bytes.readUInt16LE(body);
      channels = bytes.readUInt16LE(body + 2);
      sampleRate = bytes.readUInt32LE(body + 4);
      bits = bytes.readUInt16LE(body + 14);
      if (format !== 1 || bits !== 16) throw new WavFormatError(`unsupported WAV format ${format}/${bits} bit`);
    } else if (id === 'data') {
      if (!sampleRate) throw new WavFormatError('WAV data chunk before fmt chunk');
      const end = Math.min(bytes.length, body + size);
      const usable = (end - body) - ((end - body) % (2 * channels));
      const interleaved = new Int16Array(usable / 2);
      for (let i = 0; i < interleaved.length; i++) interleaved[i] = bytes.readInt16LE(body + i * 2);
      return { samples: channels === 1 ? interleaved : firstChannel(interleaved, channels), sampleRate, channels };
    }
    offset = body + size + (size % 2);
  }
  throw new WavFormatError('WAV has no data chunk');
}

function firstChannel(interleaved: Int16Array, channels: number): Int16Array {
  const out = new Int16Array(Math.floor(interleaved.length / channels));
  for (let i = 0; i < out.length; i++) out[i] = interleaved[i * channels] ?? 0;
  return out;
}

export function encodeWav({ samples, sampleRate }: PcmAudio): Buffer {
  const header = Buffer.alloc(44);
  const dataBytes = samples.length * 2;
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  const data = Buffer.alloc(dataBytes);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(samples[i] ?? 0, i * 2);
  return Buffer.concat([header, data]);
}
