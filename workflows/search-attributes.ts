/**
 * Kickcall's custom search attributes, defined once. Workflows upsert them, the API and
 * the Temporal UI filter by them, and `npm run stack:up` registers exactly these with the
 * dev server. None carries PII: tenants, campaigns and outcomes only.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const tenantIdKey = defineSearchAttributeKey('KickcallTenantId', SearchAttributeType.KEYWORD);
export const campaignIdKey = defineSearchAttributeKey('KickcallCampaignId', SearchAttributeType.KEYWORD);
export const callStatusKey = defineSearchAttributeKey('KickcallCallStatus', SearchAttributeType.KEYWORD);
export const dispositionKey = defineSearchAttributeKey('KickcallDisposition', SearchAttributeType.KEYWORD);
export const directionKey = defineSearchAttributeKey('KickcallDirection', SearchAttributeType.KEYWORD);

export const allSearchAttributeKeys = [tenantIdKey, campaignIdKey, callStatusKey, dispositionKey, directionKey];
