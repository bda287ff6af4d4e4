/**
 * Erasure records keep a keyed hash of the erased number (HMAC-SHA-256 under
 * `KICKCALL_ERASURE_KEY`, which lives outside the database) instead of SHA-256 of the
 * tenant and the number. Phone numbers are few enough that the unkeyed hash could be
 * reversed by hashing every number of a country, so the records made before held the
 * very numbers they erased: those hashes are dropped, and their records keep their date,
 * key and counts.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('erasures').dropColumn('phone_sha256').execute();
  await db.schema.alterTable('erasures').addColumn('phone_hmac', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('erasures').dropColumn('phone_hmac').execute();
  // The dropped hashes are not restored: there is nothing to restore them from.
  await db.schema.alterTable('erasures').addColumn('phone_sha256', 'text').execute();
}
