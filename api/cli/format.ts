/**
 * Human output: aligned tables, masked phone numbers, money, durations and a progress
 * bar. `--json` output never goes through here.
 */

/** `+14155550123` → `+1415•••0123`: enough to tell numbers apart, not enough to dial. */
export function maskPhone(phone: string): string {
  if (phone.length <= 8) return `${phone.slice(0, 2)}•••${phone.slice(-2)}`;
  return `${phone.slice(0, 5)}•••${phone.slice(-4)}`;
}

/** Columns padded to their widest cell; the last column is left ragged. */
export function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)';
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** Label/value lines, labels aligned. */
export function fields(pairs: [string, string | number | null | undefined][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v ?? '-'}`).join('\n');
}

export const usd = (amount: number) => `$${amount.toFixed(2)}`;

/** Whole seconds as `1h02m`, `3m20s` or `45s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** ISO time as local `YYYY-MM-DD HH:mm:ss`, or `-`. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `[██████░░░░]` for a fraction in 0..1. */
export function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

/** Bytes as `512 B`, `1.4 MB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * One line redrawn in place on a terminal; elsewhere (a pipe, a log) each distinct line
 * is printed once, so redirected output stays readable.
 */
export function liveLine(out: NodeJS.WritableStream & { isTTY?: boolean }) {
  let last = '';
  return {
    draw(line: string) {
      if (line === last) return;
      last = line;
      out.write(out.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    /** Ends the line so the next output starts below it. */
    done() {
      if (out.isTTY && last) out.write('\n');
      last = '';
    },
  };
}
