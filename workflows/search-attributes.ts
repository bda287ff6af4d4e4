/**
 * Kickcall's custom search attributes, defined once. Workflows upsert them, the API and
 * the Temporal UI filter by them, and `npm run stack:up` registers exactly these with the
 * dev server. None carries PII: tenants, campaigns and outcomes only.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

export const tenantIdKey = defineSearchAttributeKey('KickcallTenantId', SearchAttributeType.KEYWORD);
export const campaignIdKey = defineSearchAttributeKey('KickcallCampaignId', SearchAttributeType.KEYWORD);
export const callStatusKey = defineSearchAttributeKey('KickcallCallStatus', SearchAttributeType.KEYWORD);
export const dispositionKey = defineSearchAttributeKey('KickcallDisposition', SearchAttributeType.KEYWORD);
export const directionKey = defineSearchAttributeKey('KickcallDirection', SearchAttributeType.KEYWORD);

export const allSearchAttributeKeys = [tenantIdKey, campaignIdKey, callStatusKey, dispositionKey, directionKey];

/**
 * What identifies an outbound call in lists: set at its start by the campaign
 * (`activities/call-starts.ts`), which saves the call an upsert, or upserted by the call.
 */
export function outboundCallSearchAttributes(input: { tenantId: string; campaignId?: string }): SearchAttributePair[] {
  return [
    { key: tenantIdKey, value: input.tenantId },
    { key: directionKey, value: 'outbound' },
    ...(input.campaignId ? [{ key: campaignIdKey, value: input.campaignId }] : []),
  ];
}
