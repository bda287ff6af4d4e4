/**
 * Contacts from CSV into PostgreSQL: every row validated and either imported or reported
 * with its reason; duplicates caught within the file and across imports; a broken file
 * imports nothing and says why; large files stream.
 */
import assert from 'node:assert/strict';
import { idIsThePhoneNumberReason } from '../../api/schemas.js';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { importContactsCsv } from '../../api/contacts-import.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { InvalidInputError } from '../../workflows/errors.js';
import { config, uniqueName } from '../helpers/env.js';

let db: Db;
const tenantId = uniqueName('ci').replace('-', '');

before(async () => {
  db = createDb(config.postgres.url, { maxConnections: 2 });
  await db.insertInto('tenants').values({ id: tenantId, name: tenantId }).execute();
});
after(() => db.destroy());

async function campaign(): Promise<string> {
  const id = uniqueName('camp');
  await db.insertInto('campaigns').values({ id, tenant_id: tenantId, name: 'Spring check-ups' }).execute();
  return id;
}

const csv = (text: string) => Readable.from([text]);

test('each row is imported or reported with its reason; custom fields are kept for the agent', async () => {
  const campaignId = await campaign();
  const file = [
    'phone,time_zone,consent,first_name,plan',
    '+1 212 555 0100,America/New_York,yes,Ann,gold',
    '(415) 555-0101,America/Los_Angeles,true,Bob,',
    '+44 20 7946 0958,,1,Cleo,silver',
    '+1 312 555 0102,,yes,Dan,',
    'not a number,UTC,yes,Eve,',
    '+33 1 23 45 67 89,Mars/Base,yes,Fay,',
    '+49 30 901820,,maybe,Gus,',
    '+1 212 555 0100,America/New_York,yes,Ann again,',
    ',UTC,yes,Hal,',
  ].join('\n');
  const report = await importContactsCsv(db, { tenantId, campaignId, defaultRegion: 'US' }, csv(file));
  assert.equal(report.rows, 9);
  assert.equal(report.imported, 3);
  assert.deepEqual(report.invalid, [
    { row: 4, field: 'time_zone', reason: 'missing, and the number’s country has several time zones' },
    { row: 5, field: 'phone', reason: 'not a valid phone number' },
    { row: 6, field: 'time_zone', reason: 'not an IANA time zone' },
    { row: 7, field: 'consent', reason: 'expected true/false, yes/no or 1/0' },
    { row: 9, field: 'phone', reason: 'missing' },
  ]);
  assert.deepEqual(report.duplicates, [{ row: 8, field: 'phone', reason: 'same number earlier in this file' }]);
  assert.ok(!JSON.stringify(report).includes('555'), 'the report never repeats a number');

  const rows = await db.selectFrom('contacts').select(['phone_e164', 'time_zone', 'consent', 'fields', 'source_row']).where('campaign_id', '=', campaignId).orderBy('source_row').execute();
  assert.deepEqual(rows, [
    { phone_e164: '+12125550100', time_zone: 'America/New_York', consent: true, fields: { first_name: 'Ann', plan: 'gold' }, source_row: 1 },
    { phone_e164: '+14155550101', time_zone: 'America/Los_Angeles', consent: true, fields: { first_name: 'Bob' }, source_row: 2 },
    { phone_e164: '+442079460958', time_zone: 'Europe/London', consent: true, fields: { first_name: 'Cleo', plan: 'silver' }, source_row: 3 },
  ]);
  const record = await db.selectFrom('contact_imports').selectAll().where('id', '=', report.importId).executeTakeFirstOrThrow();
  assert.deepEqual([record.rows, record.imported, record.duplicates, record.invalid], [9, 3, 1, 5]);

  const again = await importContactsCsv(db, { tenantId, campaignId, defaultRegion: 'US' }, csv(file));
  assert.equal(again.imported, 0);
  assert.equal(again.duplicates.filter((d) => d.reason === 'already in this campaign').length, 3, 'a second import adds nobody twice');

  // With an ID column, a clash is told by what clashed: the ID, or the number.
  const withIds = await campaign();
  await importContactsCsv(db, { tenantId, campaignId: withIds, defaultRegion: 'US' }, csv('id,phone,time_zone\nc1,+12125550100,America/New_York\n'));
  const clash = await importContactsCsv(db, { tenantId, campaignId: withIds, defaultRegion: 'US' }, csv('id,phone,time_zone\nc1,+12125550111,America/New_York\nc2,+12125550100,America/New_York\n'));
  assert.equal(clash.imported, 0);
  assert.deepEqual(clash.duplicates, [
    { row: 1, field: 'id', reason: 'a contact with this ID is already in this campaign' },
    { row: 2, field: 'phone', reason: 'already in this campaign' },
  ]);

  // An ID that is the row's own number would carry it into call IDs and logs; a numeric
  // CRM ID is fine.
  const numbered = await importContactsCsv(
    db,
    { tenantId, campaignId: await campaign(), defaultRegion: 'US' },
    csv(
      'id,phone,time_zone\n12125550120,+12125550120,America/New_York\n212-555-0121,+12125550121,America/New_York\n90417733,+12125550122,America/New_York\n' +
        'cust-2125550123,+12125550123,America/New_York\n07911123456,+447911123456,Europe/London\n00447911123457,+447911123457,Europe/London\n030-12345678,+493012345678,Europe/Berlin\n',
    ),
  );
  assert.equal(numbered.imported, 1, 'only the CRM’s own numeric ID');
  assert.deepEqual(
    numbered.invalid,
    [1, 2, 4, 5, 6, 7].map((row) => ({ row, field: 'id', reason: idIsThePhoneNumberReason })),
  );
  assert.ok(!JSON.stringify(numbered).includes('555'), 'the report does not repeat it either');
});

test('a broken file imports nothing and says why', async () => {
  const campaignId = await campaign();
  await assert.rejects(importContactsCsv(db, { tenantId, campaignId }, csv('name,email\nAnn,a@example.com\n')), (err: Error) => err instanceof InvalidInputError && /no phone column/.test(err.message));
  const broken = 'phone,time_zone\n+442079460958,Europe/London\n"+442079460959,Europe/London\n+442079460960,Europe/London\n';
  await assert.rejects(importContactsCsv(db, { tenantId, campaignId }, csv(broken)), (err: Error) => err instanceof InvalidInputError && /not valid CSV/.test(err.message));
  // The error says where and what, never the cells: they may be personal data.
  const quoted = 'phone,name\n+442079460958,Jane "JJ" Doe\n';
  await assert.rejects(importContactsCsv(db, { tenantId, campaignId }, csv(quoted)), (err: Error) => {
    assert.match(err.message, /not valid CSV at line 2: a quote appears inside an unquoted field/);
    assert.doesNotMatch(err.message, /Jane|JJ|Doe/);
    return true;
  });
  // Two columns of one name would hide one of them.
  const twice = 'phone,Phone \n+442079460958,+442079460959\n';
  await assert.rejects(importContactsCsv(db, { tenantId, campaignId }, csv(twice)), (err: Error) => err instanceof InvalidInputError && /"phone" twice/.test(err.message));
  const count = await db.selectFrom('contacts').select((eb) => eb.fn.countAll<string>().as('n')).where('campaign_id', '=', campaignId).executeTakeFirstOrThrow();
  assert.equal(Number(count.n), 0, 'not half-imported');
  await assert.rejects(importContactsCsv(db, { tenantId, campaignId: 'no-such-campaign' }, csv('phone\n+442079460958\n')), /does not exist/);
});

test('a large file streams in batches', async (t) => {
  const campaignId = await campaign();
  const total = 20_000;
  function* rows() {
    yield 'phone,consent\n';
    for (let i = 0; i < total; i++) yield `+4420794${String(i).padStart(5, '0')},yes\n`;
  }
  const t0 = Date.now();
  const report = await importContactsCsv(db, { tenantId, campaignId }, Readable.from(rows()));
  assert.equal(report.rows, total);
  assert.equal(report.imported, total);
  t.diagnostic(`imported ${report.imported} contacts in ${Date.now() - t0} ms`);
});
