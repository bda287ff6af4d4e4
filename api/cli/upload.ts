/**
 * A contacts CSV streamed from disk to the API with a progress bar by bytes sent. The
 * file is never read whole: fetch pulls from the stream as the socket drains.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { uploadContacts, type ImportQuery, type ImportReport } from '../client/index.js';
import { UsageError, type Cli } from './command.js';
import { bar, bytes, liveLine, table } from './format.js';

/** How often the progress bar is redrawn, in ms. */
const redrawEveryMs = 100;

/** The file's size in bytes; a `UsageError` when it cannot be read. */
export async function fileSize(path: string, option: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a file');
    return s.size;
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${path}`, { cause: err });
  }
}

export async function uploadContactsFile(cli: Cli, opts: { campaignId: string; path: string; query?: ImportQuery }): Promise<ImportReport> {
  const total = await fileSize(opts.path, '--contacts');
  // Progress only where a person watches; pipes and logs get the report alone.
  const line = cli.stderr.isTTY ? liveLine(cli.stderr) : undefined;
  let sent = 0;
  let sentAllAt: number | undefined;
  const draw = () => {
    const fraction = total === 0 ? 1 : sent / total;
    const importing = sentAllAt === undefined ? '' : `  importing… ${Math.floor((Date.now() - sentAllAt) / 1000)}s`;
    line?.draw(`uploading ${bar(fraction)} ${Math.floor(fraction * 100)}%  ${bytes(sent)} / ${bytes(total)}${importing}`);
  };
  const source = createReadStream(opts.path);
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      // Sent: the API now imports what it has read, which takes a while for a big file.
      sentAllAt = Date.now();
      done();
    },
  });
  source.on('error', (err) => counter.destroy(err));
  const redraw = line ? setInterval(draw, redrawEveryMs) : undefined;
  try {
    return await uploadContacts(cli.client, { campaignId: opts.campaignId, csv: source.pipe(counter), ...(opts.query && { query: opts.query }) });
  } finally {
    clearInterval(redraw);
    source.destroy();
    if (line) {
      draw();
      line.done();
    }
  }
}

/** The import report: counts, then every refused row with its number, field and reason. */
export function renderImportReport(report: ImportReport): string {
  const lines = [`Imported ${report.imported} of ${report.rows} rows (import ${report.importId}).`];
  const issues = (title: string, rows: ImportReport['invalid']) => {
    if (rows.length === 0) return;
    lines.push('', `${title} (${rows.length}):`, table(['ROW', 'FIELD', 'REASON'], rows.map((r) => [String(r.row), r.field, r.reason])));
  };
  issues('Invalid rows', report.invalid);
  issues('Duplicate rows', report.duplicates);
  return lines.join('\n');
}
