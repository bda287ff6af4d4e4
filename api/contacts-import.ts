/**
 * Contacts from CSV, streamed: rows are parsed, validated and written in batches as they
 * arrive, never holding the file in memory. Each row's number is parsed to E.164
 * (libphonenumber-js, with the campaign's default region for national numbers); its time
 * zone comes from the row or, for countries with one zone, from the number; other columns
 * are kept as fields for the agent. Invalid rows and duplicates are reported row by row,
 * with the reason and never the value. The import runs in one transaction: a file that
 * breaks (bad CSV, no phone column) imports nothing and says why.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { DateTime } from 'luxon';
import type { Db } from '../deploy/db/schema.js';
import { InvalidInputError } from '../workflows/errors.js';
import { idIsThePhoneNumber, idIsThePhoneNumberReason } from './schemas.js';

export interface ImportOptions {
  tenantId: string;
  campaignId: string;
  /** ISO country for numbers written without +, e.g. `US`. */
  defaultRegion?: CountryCode;
  /** IANA zone for rows with none when the number does not say (e.g. US/Canada). */
  defaultTimeZone?: string;
  /** Consent for rows without a consent column value. Default false: no consent, no call. */
  consentByDefault?: boolean;
  /** Rows per insert. Default 500. */
  batchSize?: number;
  /** Refuse files with more rows than this. Default 200,000. */
  maxRows?: number;
}

export interface RowIssue {
  /** 1-based data row (the header is row 0). */
  row: number;
  field: string;
  reason: string;
}

export interface ImportReport {
  importId: string;
  rows: number;
  imported: number;
  duplicates: RowIssue[];
  invalid: RowIssue[];
}

const phoneColumns = ['phone', 'phone_number', 'number', 'mobile'];
const idColumns = ['id', 'contact_id'];
const tzColumns = ['time_zone', 'timezone', 'tz'];
const consentColumns = ['consent'];
const reserved = new Set([...phoneColumns, ...idColumns, ...tzColumns, ...consentColumns]);

/** Countries in a single time zone: the number alone says when it may be called. */
const singleZone: Partial<Record<CountryCode, string>> = {
  GB: 'Europe/London', IE: 'Europe/Dublin', FR: 'Europe/Paris', DE: 'Europe/Berlin', IT: 'Europe/Rome',
  NL: 'Europe/Amsterdam', BE: 'Europe/Brussels', CH: 'Europe/Zurich', AT: 'Europe/Vienna', SE: 'Europe/Stockholm',
  NO: 'Europe/Oslo', DK: 'Europe/Copenhagen', FI: 'Europe/Helsinki', PL: 'Europe/Warsaw', CZ: 'Europe/Prague',
  GR: 'Europe/Athens', IN: 'Asia/Kolkata', JP: 'Asia/Tokyo', KR: 'Asia/Seoul', SG: 'Asia/Singapore',
  HK: 'Asia/Hong_Kong', PH: 'Asia/Manila', IL: 'Asia/Jerusalem', ZA: 'Africa/Johannesburg', NG: 'Africa/Lagos',
};

function pick(record: Record<string, string>, names: string[]): string | undefined {
  for (const n of names) {
    const v = record[n]?.trim();
    if (v) return v;
  }
  return undefined;
}

function parseConsent(value: string | undefined, fallback: boolean): boolean | 'invalid' {
  if (value === undefined) return fallback;
  if (/^(true|yes|y|1)$/i.test(value)) return true;
  if (/^(false|no|n|0)$/i.test(value)) return false;
  return 'invalid';
}

interface ValidRow {
  id: string;
  phone: string;
  timeZone: string;
  consent: boolean;
  fields: Record<string, string>;
  row: number;
}

/** `db` may be a transaction: the import then commits or rolls back with it. */
/** csv-parse's error codes, told without the cells its own messages quote. */
const csvProblems: Record<string, string> = {
  CSV_INVALID_CLOSING_QUOTE: 'a quoted field is followed by other characters before the next comma',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a quoted field is followed by other characters before the next comma',
  INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field',
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'a row has a different number of fields than the header',
  CSV_RECORD_INCONSISTENT_COLUMNS: 'a row has a different number of fields than the header',
  CSV_MAX_RECORD_SIZE: 'a row is longer than 64 KiB',
};

/** Header names as rows are keyed: trimmed, lower-case; two columns of one name would hide one. */
function headerNames(header: string[]): string[] {
  const names = header.map((h) => h.trim().toLowerCase());
  const repeated = names.find((n, i) => n !== '' && names.indexOf(n) !== i);
  if (repeated !== undefined) throw new InvalidInputError(`the header names the column "${repeated}" twice (names are compared ignoring case and spaces)`);
  return names;
}

export async function importContactsCsv(db: Db, opts: ImportOptions, csv: Readable): Promise<ImportReport> {
  const importId = `imp_${randomBytes(6).toString('hex')}`;
  const batchSize = opts.batchSize ?? 500;
  const maxRows = opts.maxRows ?? 200_000;
  if (opts.defaultTimeZone && !DateTime.now().setZone(opts.defaultTimeZone).isValid) {
    throw new InvalidInputError(`defaultTimeZone ${JSON.stringify(opts.defaultTimeZone)} is not an IANA time zone`);
  }
  const report: ImportReport = { importId, rows: 0, imported: 0, duplicates: [], invalid: [] };
  const seenPhones = new Set<string>();
  const seenIds = new Set<string>();

  // Inside a caller's transaction (the API's tenant-scoped one) the import is part of it.
  const inTransaction = (body: (trx: Db) => Promise<void>) => (db.isTransaction ? body(db) : db.transaction().execute(body));
  await inTransaction(async (trx) => {
    const campaign = await trx.selectFrom('campaigns').select('id').where('id', '=', opts.campaignId).where('tenant_id', '=', opts.tenantId).executeTakeFirst();
    if (!campaign) throw new InvalidInputError(`campaign ${opts.campaignId} does not exist`);

    let batch: ValidRow[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const rows = batch;
      batch = [];
      const inserted = await trx
        .insertInto('contacts')
        .values(
          rows.map((r) => ({
            campaign_id: opts.campaignId,
            id: r.id,
            tenant_id: opts.tenantId,
            phone_e164: r.phone,
            time_zone: r.timeZone,
            consent: r.consent,
            fields: JSON.stringify(r.fields),
            import_id: importId,
            source_row: r.row,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .returning('source_row')
        .execute();
      const took = new Set(inserted.map((i) => i.source_row));
      report.imported += took.size;
      // What the database refused was already in the campaign from an earlier import: by
      // its contact ID or by its number (either is unique in a campaign); say which.
      const refused = rows.filter((r) => !took.has(r.row));
      if (refused.length === 0) return;
      const takenIds = new Set(
        (await trx.selectFrom('contacts').select('id').where('campaign_id', '=', opts.campaignId).where('id', 'in', refused.map((r) => r.id)).execute()).map((c) => c.id),
      );
      for (const r of refused) {
        report.duplicates.push(takenIds.has(r.id) ? { row: r.row, field: 'id', reason: 'a contact with this ID is already in this campaign' } : { row: r.row, field: 'phone', reason: 'already in this campaign' });
      }
    };

    const parser = parse({ columns: headerNames, skip_empty_lines: true, trim: true, bom: true, max_record_size: 64 * 1024 });
    // pipeline, not pipe: an error of the source (an upload cut off or over its limit)
    // must reach the parser, or the loop below would wait for rows forever.
    pipeline(csv, parser).catch(() => undefined);
    let checkedHeader = false;
    try {
      for await (const record of parser as AsyncIterable<Record<string, string>>) {
        if (!checkedHeader) {
          checkedHeader = true;
          if (!phoneColumns.some((c) => c in record)) throw new InvalidInputError(`the CSV has no phone column (one of ${phoneColumns.join(', ')})`);
        }
        report.rows++;
        if (report.rows > maxRows) throw new InvalidInputError(`the file has more than ${maxRows} rows`);
        const row = report.rows;
        const invalid = (field: string, reason: string) => report.invalid.push({ row, field, reason });

        const withNul = Object.entries(record).find(([, v]) => typeof v === 'string' && v.includes('\u0000'));
        if (withNul) {
          invalid(withNul[0], 'contains a NUL character');
          continue;
        }
        const rawPhone = pick(record, phoneColumns);
        const phone = rawPhone ? parsePhoneNumberFromString(rawPhone, opts.defaultRegion) : undefined;
        if (!rawPhone) {
          invalid('phone', 'missing');
          continue;
        }
        if (!phone?.isValid()) {
          invalid('phone', 'not a valid phone number');
          continue;
        }
        const e164 = phone.number;
        const zone = pick(record, tzColumns) ?? (phone.country ? singleZone[phone.country] : undefined) ?? opts.defaultTimeZone;
        if (!zone) {
          invalid('time_zone', 'missing, and the number’s country has several time zones');
          continue;
        }
        if (!DateTime.now().setZone(zone).isValid) {
          invalid('time_zone', 'not an IANA time zone');
          continue;
        }
        const consent = parseConsent(pick(record, consentColumns), opts.consentByDefault ?? false);
        if (consent === 'invalid') {
          invalid('consent', 'expected true/false, yes/no or 1/0');
          continue;
        }
        const id = pick(record, idColumns) ?? `${importId.slice(4)}-r${row}`;
        if (!/^[A-Za-z0-9-]{1,40}$/.test(id)) {
          invalid('id', 'expected 1-40 letters, digits or "-"');
          continue;
        }
        if (idIsThePhoneNumber(id, e164)) {
          invalid('id', idIsThePhoneNumberReason);
          continue;
        }
        if (seenPhones.has(e164)) {
          report.duplicates.push({ row, field: 'phone', reason: 'same number earlier in this file' });
          continue;
        }
        if (seenIds.has(id)) {
          report.duplicates.push({ row, field: 'id', reason: 'same contact ID earlier in this file' });
          continue;
        }
        seenPhones.add(e164);
        seenIds.add(id);
        const fields = Object.fromEntries(Object.entries(record).filter(([k, v]) => !reserved.has(k) && v !== ''));
        batch.push({ id, phone: e164, timeZone: zone, consent, fields, row });
        if (batch.length >= batchSize) await flush();
      }
    } catch (err) {
      // csv-parse names the line and the problem; nothing of this file is kept. Other
      // errors (the upload's own, a database's) pass through as they are.
      // Its message quotes the cells it stumbled on, which may be personal data: say where and what kind.
      if (err instanceof CsvError) throw new InvalidInputError(`the file is not valid CSV at line ${String((err as CsvError & { lines?: number }).lines ?? '?')}: ${csvProblems[err.code] ?? err.code}`, { cause: err });
      throw err;
    }
    if (!checkedHeader) throw new InvalidInputError('the file has no rows');
    await flush();
    await trx
      .insertInto('contact_imports')
      .values({
        id: importId,
        campaign_id: opts.campaignId,
        tenant_id: opts.tenantId,
        rows: report.rows,
        imported: report.imported,
        duplicates: report.duplicates.length,
        invalid: report.invalid.length,
        issues: JSON.stringify([...report.invalid, ...report.duplicates].sort((a, b) => a.row - b.row)),
      })
      .execute();
  });
  return report;
}
