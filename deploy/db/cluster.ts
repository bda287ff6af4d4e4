/**
 * The project-owned PostgreSQL cluster: located from Debian's packages, run as the
 * `postgres` system user when we are root (the server refuses to run as root), its data
 * in the stack's state folder, bootstrapped with the application role and database.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, symlinkSync, lstatSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config.js';
import { migrateToLatest } from './migrate.js';
import { tenantRole } from './migrations/0005_api.js';

/** Newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/<major>/bin). */
export function findPostgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((d) => existsSync(path.join(root, d, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : path.join(root, majors[0], 'bin');
}

export interface RunAs {
  dataDir: string;
  uid?: number;
  gid?: number;
}

function idOf(flag: '-u' | '-g', user: string): number | undefined {
  const out = spawnSync('id', [flag, user], { encoding: 'utf8' });
  return out.status === 0 ? Number(out.stdout.trim()) : undefined;
}

/**
 * Decides the user and data folder. As root, the cluster runs as `postgres`, which must
 * be able to reach the data folder: when the checkout sits under a folder closed to
 * other users (a private temp dir, /root), the data lives under /var/tmp instead, keyed
 * by the state folder's path, with a link from the state folder so it is still found.
 */
export function postgresRunAs(componentDir: string): RunAs {
  const preferred = path.join(componentDir, 'data');
  if (process.getuid?.() !== 0) return { dataDir: preferred };
  const uid = idOf('-u', 'postgres');
  const gid = idOf('-g', 'postgres');
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root needs the `postgres` system user (Debian package postgresql): run npm run setup');
  }
  const reachable = spawnSync('test', ['-x', componentDir], { uid, gid }).status === 0;
  if (reachable) return { dataDir: preferred, uid, gid };
  const key = createHash('sha256').update(componentDir).digest('hex').slice(0, 12);
  const outside = path.join('/var/tmp', `kickcall-postgres-${key}`);
  mkdirSync(outside, { recursive: true, mode: 0o700 });
  spawnSync('chown', [`${uid}:${gid}`, outside]);
  if (!existsSync(preferred) && !isLink(preferred)) symlinkSync(outside, preferred);
  return { dataDir: outside, uid, gid };
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Superuser URL of the local cluster (trust auth, loopback only). */
export function superuserUrl(config: Config): string {
  return `postgres://postgres@${config.host}:${config.postgres.port}/postgres`;
}

/**
 * `checkOnly`: proves the server answers queries. Otherwise creates the application
 * role and database when missing and applies pending migrations. Idempotent.
 */
export async function bootstrapDatabase(config: Config, opts: { checkOnly: boolean }): Promise<void> {
  const client = new pg.Client({ connectionString: superuserUrl(config), connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query('SELECT 1');
    if (opts.checkOnly) return;
    const { user, database } = config.postgres;
    const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
    if (role.rowCount === 0) await client.query(`CREATE ROLE ${pg.escapeIdentifier(user)} LOGIN`);
    // The API's request role: row-level security confines it to one tenant (migration 0005).
    const apiRole = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [tenantRole]);
    if (apiRole.rowCount === 0) await client.query(`CREATE ROLE ${pg.escapeIdentifier(tenantRole)} NOLOGIN`);
    await client.query(`GRANT ${pg.escapeIdentifier(tenantRole)} TO ${pg.escapeIdentifier(user)}`);
    const db = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (db.rowCount === 0) {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${pg.escapeIdentifier(user)}`);
    }
  } finally {
    await client.end();
  }
  await migrateToLatest(config.postgres.url);
}
