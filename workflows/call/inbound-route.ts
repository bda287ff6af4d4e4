/**
 * What an inbound dispatch rule says about the calls it routes, carried as the room's
 * metadata (set by the SIP gateway from the rule): whose calls they are and how the agent
 * answers. Validated in the workflow so a bad rule fails the call with a clear reason.
 */
import { z } from 'zod';
import { toolNames } from '../tool-names.js';

export const inboundRouteSchema = z.object({
  tenantId: z.string().regex(/^[A-Za-z0-9-]{1,40}$/),
  agent: z.object({
    instructions: z.string().min(1),
    greeting: z.string().min(1),
    language: z.string().optional(),
    voice: z.string().optional(),
    tools: z.array(z.enum(toolNames)).optional(),
    voicemailMessage: z.string().optional(),
    fallback: z.enum(['transfer', 'hangup']).optional(),
  }),
  transfer: z.object({ to: z.string().min(1), label: z.string().optional(), notice: z.string().optional() }).optional(),
  limits: z
    .object({
      ringingTimeoutS: z.number().positive().optional(),
      maxDurationS: z.number().positive().optional(),
      silenceTimeoutS: z.number().positive().optional(),
    })
    .optional(),
  analysis: z
    .object({
      goal: z.string().optional(),
      fields: z
        .record(z.string(), z.object({ type: z.enum(['string', 'number', 'boolean', 'enum']), description: z.string(), values: z.array(z.string()).optional() }))
        .optional(),
    })
    .optional(),
});
export type InboundRoute = z.infer<typeof inboundRouteSchema>;

/** Parses room metadata into a route, or says precisely what is wrong with it. */
export function parseInboundRoute(metadata: string): { route: InboundRoute } | { problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(metadata);
  } catch {
    return { problem: 'the dispatch rule’s metadata is not JSON' };
  }
  const parsed = inboundRouteSchema.safeParse(raw);
  if (!parsed.success) return { problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  return { route: parsed.data };
}
