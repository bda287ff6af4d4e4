/** Every workflow the orchestration worker runs. */
export { smokeCallWorkflow } from './smoke-call.js';
export { outboundCallWorkflow } from './call/outbound.js';
export { inboundCallWorkflow } from './call/inbound.js';
export { campaignWorkflow } from './campaign/campaign.js';
export { webhookDeliveryWorkflow } from './webhook/delivery.js';
export { retentionWorkflow } from './retention.js';
export { strandedAttemptsWorkflow } from './stranded-attempts.js';
