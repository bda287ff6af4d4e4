/**
 * Campaign fixtures shared by the tests, the chaos run and the benchmark: a tenant's
 * outbound trunk, a campaign row and its contacts written straight to PostgreSQL (the CSV
 * import has its own tests), in batches so 100k contacts load in seconds.
 */
import type { Db } from '../../deploy/db/schema.js';
import type { CampaignConfig } from '../../workflows/campaign/types.js';

export interface SeedContact {
  id: string;
  phone: string;
  timeZone?: string;
  consent?: boolean;
}

/** An outbound trunk; its address defaults to a loopback port nothing answers (load mode never dials it). */
export async function seedTrunk(db: Db, tenantId: string, trunk: { id: string; address?: string; maxCallsPerSecond: number; maxChannels: number }): Promise<void> {
  await db.insertInto('tenants').values({ id: tenantId, name: tenantId }).onConflict((oc) => oc.column('id').doNothing()).execute();
  await db
    .insertInto('outbound_trunks')
    .values({
      tenant_id: tenantId,
      id: trunk.id,
      address: trunk.address ?? '127.0.0.1:5999',
      numbers: JSON.stringify(['+15550100000']),
      max_calls_per_second: trunk.maxCallsPerSecond,
      max_channels: trunk.maxChannels,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
    .execute();
}

export async function seedCampaign(db: Db, tenantId: string, campaignId: string, campaignConfig: CampaignConfig, contacts: SeedContact[]): Promise<void> {
  await db.insertInto('tenants').values({ id: tenantId, name: tenantId }).onConflict((oc) => oc.column('id').doNothing()).execute();
  await db.insertInto('campaigns').values({ id: campaignId, tenant_id: tenantId, name: campaignId, config: JSON.stringify(campaignConfig) }).execute();
  for (let i = 0; i < contacts.length; i += 5000) {
    await db
      .insertInto('contacts')
      .values(
        contacts.slice(i, i + 5000).map((c, j) => ({
          campaign_id: campaignId,
          id: c.id,
          tenant_id: tenantId,
          phone_e164: c.phone,
          time_zone: c.timeZone ?? 'UTC',
          consent: c.consent ?? true,
          import_id: 'test',
          source_row: i + j + 1,
        })),
      )
      .execute();
  }
}

/** `n` contacts with distinct numbers, `c0`, `c1`, ... */
export function numberedContacts(n: number, opts: { prefix?: string; timeZone?: string; firstNumber?: number } = {}): SeedContact[] {
  const first = opts.firstNumber ?? 0;
  return Array.from({ length: n }, (_, i) => ({
    id: `${opts.prefix ?? 'c'}${i}`,
    phone: `+1555${String(first + i).padStart(7, '0')}`,
    ...(opts.timeZone ? { timeZone: opts.timeZone } : {}),
  }));
}

/** A campaign configuration for load mode: quick retries, always inside the window. */
export function loadCampaignConfig(overrides: Partial<CampaignConfig> = {}): CampaignConfig {
  return {
    agent: { instructions: 'You are a test agent.', greeting: 'Hello.' },
    trunkId: 'main',
    window: { start: '00:00', end: '23:59' },
    callsPerSecond: 20,
    maxConcurrentCalls: 20,
    retry: { busy: { maxAttempts: 3, delayS: 1 }, no_answer: { maxAttempts: 2, delayS: 2 }, voicemail: { maxAttempts: 2, delayS: 1 }, failed: { maxAttempts: 2, delayS: 1 } },
    limits: { ringingTimeoutS: 30, silenceTimeoutS: 20 },
    ...overrides,
  };
}
