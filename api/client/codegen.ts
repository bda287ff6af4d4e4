/**
 * Renders the client's generated files in-process, from the same route declarations the
 * API serves: the OpenAPI document and its TypeScript types (openapi-typescript). No
 * server is needed. `generate.ts` writes them; a unit test renders them again and
 * compares, so a route change committed without `npm run api:client` fails the tests.
 */
import type { Client } from '@temporalio/client';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import type { Db } from '../../deploy/db/schema.js';
import { buildOpenApiDocument } from '../openapi.js';
import { apiVersion } from '../server.js';
import { v1Routes } from '../v1/index.js';
import type { PriceTable } from '../../activities/pricing.js';
import type { Logger } from '../../deploy/logger.js';

/** The server URL written into the committed document: the local stack's API. */
export const generatedServerUrl = 'http://127.0.0.1:8080';

/** The generated files, by name inside `api/client/`. */
export interface ClientFiles {
  'openapi.json': string;
  'schema.d.ts': string;
}

/**
 * Stands in for the clients the route factories capture: they use them only inside
 * handlers, never while the routes are declared, so any touch here is a bug worth a throw.
 */
function untouchable<T>(name: string): T {
  return new Proxy({}, { get: (_target, key) => { throw new Error(`${name}.${String(key)} used while building the OpenAPI document`); } }) as T;
}

export function buildClientDocument(): Record<string, unknown> {
  const routes = v1Routes({ db: untouchable<Db>('db'), temporal: untouchable<Client>('temporal'), taskQueue: 'unused', webhookAllowPrivateUrls: false, erasureKey: 'unused', prices: untouchable<PriceTable>('prices'), log: untouchable<Logger>('log') });
  return buildOpenApiDocument(routes, { serverUrl: generatedServerUrl, version: apiVersion });
}

export async function renderClientFiles(): Promise<ClientFiles> {
  const json = `${JSON.stringify(buildClientDocument(), null, 2)}\n`;
  // Typed from the very text that is committed.
  const ast = await openapiTS(json, { silent: true });
  return { 'openapi.json': json, 'schema.d.ts': COMMENT_HEADER + astToString(ast) };
}
