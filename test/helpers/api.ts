/**
 * The integrator API in-process on a free port, against the real stack (PostgreSQL,
 * Redis, Temporal), with a tenant of fresh keys per role and a small fetch wrapper.
 */
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { issueApiKey } from '../../api/api-keys.js';
import { createApiServer } from '../../api/server.js';
import { createDb, type ApiRole, type Db } from '../../deploy/db/schema.js';
import { config, uniqueName } from './env.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else the text. */
  body: unknown;
  text: string;
}

export interface RequestOptions {
  key?: string;
  body?: unknown;
  /** Sent as is, with its own content type. */
  raw?: { contentType: string; data: string | Buffer };
  headers?: Record<string, string>;
}

export interface TestTenant {
  tenantId: string;
  keys: Record<ApiRole, string>;
}

export interface ApiHarness {
  url: string;
  db: Db;
  redis: Redis;
  request: (method: string, path: string, opts?: RequestOptions) => Promise<ApiResponse>;
  newTenant: () => Promise<TestTenant>;
  close: () => Promise<void>;
}

export async function startApi(opts: {
  temporal: Client;
  taskQueue?: string;
  rateLimits?: { perKeyPerSecond: number; perTenantPerSecond: number };
  webhookAllowPrivateUrls?: boolean;
  temporalTimeoutMs?: number;
}): Promise<ApiHarness> {
  const db = createDb(config.postgres.url);
  const redis = new Redis({ host: config.host, port: config.redis.port, maxRetriesPerRequest: 2 });
  const apiConfig = { ...config, api: { ...config.api, rateLimits: opts.rateLimits ?? { perKeyPerSecond: 10_000, perTenantPerSecond: 10_000 }, webhookAllowPrivateUrls: opts.webhookAllowPrivateUrls ?? false } };
  const app = createApiServer({ config: apiConfig, temporal: opts.temporal, db, redis, log: pino({ level: 'silent' }), ...(opts.taskQueue ? { taskQueue: opts.taskQueue } : {}), ...(opts.temporalTimeoutMs ? { temporalTimeoutMs: opts.temporalTimeoutMs } : {}) });
  await app.listen({ host: config.host, port: 0 });
  const url = `http://${config.host}:${(app.server.address() as AddressInfo).port}`;

  const request = async (method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.key) headers.authorization = `Bearer ${o.key}`;
    let body: string | Buffer | undefined;
    if (o.raw) {
      headers['content-type'] = o.raw.contentType;
      body = o.raw.data;
    } else if (o.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    }
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    const isJson = /json/.test(res.headers.get('content-type') ?? '');
    return { status: res.status, headers: res.headers, text, body: isJson && text ? (JSON.parse(text) as unknown) : text };
  };

  const newTenant = async (): Promise<TestTenant> => {
    const tenantId = uniqueName('tn');
    const keys = {} as Record<ApiRole, string>;
    for (const role of ['admin', 'operator', 'viewer'] as const) keys[role] = (await issueApiKey(db, { tenantId, name: role, role })).key;
    return { tenantId, keys };
  };

  return {
    url,
    db,
    redis,
    request,
    newTenant,
    close: async () => {
      await app.close();
      await Promise.allSettled([db.destroy(), redis.quit()]);
    },
  };
}
