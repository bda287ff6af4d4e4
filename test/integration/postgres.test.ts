/**
 * PostgreSQL (the stack's own cluster): the migrations build the schema from an empty
 * database, and applying them again changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { superuserUrl } from '../../deploy/db/cluster.js';
import { migrateToLatest, migrations } from '../../deploy/db/migrate.js';
import { config, uniqueName } from '../helpers/env.js';

const database = uniqueName('migrations_test').replaceAll('-', '_');
const admin = new pg.Client({ connectionString: superuserUrl(config) });
const url = new URL(config.postgres.url);
url.pathname = `/${database}`;

before(async () => {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${pg.escapeIdentifier(config.postgres.user)}`);
});

after(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
  await admin.end();
});

async function tables(): Promise<string[]> {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    return rows.map((r) => r.table_name);
  } finally {
    await client.end();
  }
}

test('migrations apply from an empty database, then are a no-op', async () => {
  assert.deepEqual(await tables(), [], 'the database starts empty');

  const first = await migrateToLatest(url.toString());
  assert.deepEqual(first, Object.keys(migrations), 'every migration applied, in order');
  const schema = await tables();
  for (const t of ['tenants', 'calls', 'call_turns', 'do_not_call']) assert.ok(schema.includes(t), `table ${t} exists`);

  const second = await migrateToLatest(url.toString());
  assert.deepEqual(second, [], 'nothing applied the second time');
  assert.deepEqual(await tables(), schema, 'schema unchanged');
});

test('the schema enforces what the migrations promise', async () => {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`INSERT INTO tenants (id, name) VALUES ('t1', 'Tenant One')`);
    await client.query(`INSERT INTO do_not_call (tenant_id, phone_e164, source) VALUES ('t1', '+14155550100', 'test')`);
    await assert.rejects(
      client.query(`INSERT INTO do_not_call (tenant_id, phone_e164, source) VALUES ('t1', '4155550100', 'test')`),
      /do_not_call_phone_e164_check/,
      'a number that is not E.164 is refused',
    );
    await assert.rejects(
      client.query(`INSERT INTO do_not_call (tenant_id, phone_e164, source) VALUES ('t1', '+14155550100', 'again')`),
      /do_not_call_pk/,
      'the same number twice for a tenant is refused',
    );
  } finally {
    await client.end();
  }
});
