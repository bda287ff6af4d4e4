/** `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the local stack's). */
import { loadConfig } from '../config.js';
import { migrateToLatest } from './migrate.js';

const config = loadConfig(process.env, { requireSecrets: false });
const applied = await migrateToLatest(config.postgres.url);
console.log(applied.length === 0 ? 'database schema is up to date' : `applied: ${applied.join(', ')}`);
