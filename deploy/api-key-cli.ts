/**
 * Makes the first API key of a tenant, straight in the database (every later key can be
 * made through the API by an admin key): `npm run api-key -- --tenant acme --role admin
 * --name ops`. Prints the key once; only its hash is stored.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { apiRoles, issueApiKey } from '../api/api-keys.js';
import { loadConfig } from './config.js';
import { createDb } from './db/schema.js';

const args = z
  .object({
    tenant: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, '--tenant: 1-40 letters, digits or "-"'),
    role: z.enum(apiRoles).default('admin'),
    name: z.string().min(1).max(100).default('bootstrap'),
    json: z.boolean().default(false),
  })
  .safeParse(parseArgs({ options: { tenant: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } } }).values);
if (!args.success) {
  console.error(`usage: npm run api-key -- --tenant <id> [--role admin|operator|viewer] [--name <label>] [--json]\n${args.error.issues.map((i) => i.message).join('\n')}`);
  process.exit(2);
}
const db = createDb(loadConfig().postgres.url);
try {
  const issued = await issueApiKey(db, { tenantId: args.data.tenant, name: args.data.name, role: args.data.role, createdBy: 'cli' });
  if (args.data.json) console.log(JSON.stringify({ id: issued.id, prefix: issued.prefix, key: issued.key, tenant: args.data.tenant, role: args.data.role }));
  else console.log(`API key for tenant ${args.data.tenant} (${args.data.role}), shown once:\n${issued.key}`);
} finally {
  await db.destroy();
}
