/**
 * Schema migrations with Kysely's Migrator. Migrations are listed statically (no folder
 * scanning), applied in name order inside a lock, and recorded in `kysely_migration`, so
 * running them again is a no-op.
 */
import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import * as m0001 from './migrations/0001_core.js';
import * as m0002 from './migrations/0002_call_records.js';
import * as m0003 from './migrations/0003_campaigns.js';
import * as m0004 from './migrations/0004_campaign_runs.js';
import * as m0005 from './migrations/0005_api.js';
import * as m0006 from './migrations/0006_retention.js';
import * as m0007 from './migrations/0007_call_agent.js';
import * as m0008 from './migrations/0008_lease_dial_time.js';
import * as m0009 from './migrations/0009_calls_settle_with_campaign.js';
import * as m0010 from './migrations/0010_claim_in_order.js';
import * as m0011 from './migrations/0011_wake_sequence.js';
import * as m0012 from './migrations/0012_erasure_scrubs_events.js';
import * as m0013 from './migrations/0013_do_not_call_row_numbers.js';
import * as m0014 from './migrations/0014_erasure_keyed_hash.js';
import * as m0015 from './migrations/0015_call_agent_notes.js';
import * as m0016 from './migrations/0016_campaign_pauses.js';

export const migrations: Record<string, Migration> = {
  '0001_core': m0001,
  '0002_call_records': m0002,
  '0003_campaigns': m0003,
  '0004_campaign_runs': m0004,
  '0005_api': m0005,
  '0006_retention': m0006,
  '0007_call_agent': m0007,
  '0008_lease_dial_time': m0008,
  '0009_calls_settle_with_campaign': m0009,
  '0010_claim_in_order': m0010,
  '0011_wake_sequence': m0011,
  '0012_erasure_scrubs_events': m0012,
  '0013_do_not_call_row_numbers': m0013,
  '0014_erasure_keyed_hash': m0014,
  '0015_call_agent_notes': m0015,
  '0016_campaign_pauses': m0016,
};

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  readonly retryable = false;
}

/** Applies every pending migration. Returns the names applied by this call. */
export async function migrateToLatest(databaseUrl: string): Promise<string[]> {
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }),
  });
  try {
    const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } });
    const result: MigrationResultSet = await migrator.migrateToLatest();
    if (result.error) {
      const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new MigrationError(`migration ${failed} failed`, { cause: result.error });
    }
    return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  } finally {
    await db.destroy();
  }
}
