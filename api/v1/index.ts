/** Every `/v1` route, in the order the OpenAPI document lists them. */
import type { Client } from '@temporalio/client';
import type { Db } from '../../deploy/db/schema.js';
import type { Logger } from '../../deploy/logger.js';
import type { RouteSpec } from '../route.js';
import { agentRoutes } from './agents.js';
import type { PriceTable } from '../../activities/pricing.js';
import { analyticsRoutes } from './analytics.js';
import { auditLogRoutes } from './audit-log.js';
import { callRoutes } from './calls.js';
import { campaignRoutes } from './campaigns.js';
import { doNotCallRoutes } from './do-not-call.js';
import { erasureRoutes } from './erasures.js';
import { keyRoutes } from './keys.js';
import { tenantRoutes } from './tenant.js';
import { trunkRoutes } from './trunks.js';
import { webhookEndpointRoutes } from './webhook-endpoints.js';

export function v1Routes(deps: { db: Db; temporal: Client; taskQueue: string; webhookAllowPrivateUrls: boolean; erasureKey: string; prices: PriceTable; log: Logger }): RouteSpec[] {
  return [
    ...callRoutes(deps),
    ...campaignRoutes(deps),
    ...agentRoutes(),
    ...trunkRoutes(),
    ...doNotCallRoutes(),
    ...webhookEndpointRoutes({ allowPrivateUrls: deps.webhookAllowPrivateUrls }),
    ...keyRoutes(deps),
    ...analyticsRoutes(deps.prices),
    ...tenantRoutes(),
    ...auditLogRoutes(),
    ...erasureRoutes({ erasureKey: deps.erasureKey }),
  ];
}
