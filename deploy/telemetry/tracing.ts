/**
 * OpenTelemetry tracing: one trace per call, across API → Temporal client → workflow →
 * activities → media worker (via the dispatch metadata) → NATS (the `traceparent` header)
 * → event bridge → the workflow's signal handler.
 *
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then no tracer provider and no propagator
 * are installed, the OpenTelemetry API stays its no-op self, Temporal gets no interceptors
 * and `currentTraceparent()` returns nothing, so tracing costs nothing when unused.
 *
 * Temporal's interceptors live in temporal-tracing.ts: the media job process, started once
 * per call, does not load Temporal's packages (45–84 ms of CPU per process start).
 */
import { SpanStatusCode, context, propagation, trace, type Context, type Span, type SpanOptions } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Config, ProcessRole } from '../config.js';

export type Tracing =
  | { enabled: false; flush(): Promise<void>; shutdown(): Promise<void> }
  | {
      enabled: true;
      /** Sends spans still batched. */
      flush(): Promise<void>;
      /** Flushes, then stops tracing; call before the process exits. */
      shutdown(): Promise<void>;
      /** Where spans from outside the provider (Temporal's workflow sandbox) are exported. */
      exporter: { spans: SpanProcessor; resource: Resource };
    };

const off: Tracing = { enabled: false, flush: () => Promise.resolve(), shutdown: () => Promise.resolve() };

/** The tracer Kickcall's own spans come from. A proxy until (unless) a provider registers. */
export const tracer = trace.getTracer('kickcall');

export function startTracing(config: Config, role: ProcessRole | 'media-job'): Tracing {
  const endpoint = config.telemetry.otlpEndpoint;
  if (!endpoint) return off;
  const resource = resourceFromAttributes({ 'service.name': `kickcall-${role}` });
  // Short batches: a call's spans should reach the collector while someone watches it.
  const batch = new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }), { scheduledDelayMillis: 500 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [ownSpansOnly(batch)] });
  provider.register();
  return {
    enabled: true,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
    exporter: { spans: batch, resource },
  };
}

/**
 * Exports Kickcall's and Temporal's spans only. Libraries that find the global provider
 * (@livekit/agents does) may put conversation text in their spans' attributes: a caller's
 * words are personal data and stay out of traces.
 */
function ownSpansOnly(next: SpanProcessor): SpanProcessor {
  return {
    onStart: () => undefined,
    onEnd(span) {
      const scope = span.instrumentationScope.name;
      if (scope === 'kickcall' || scope.startsWith('@temporalio/')) next.onEnd(span);
    },
    forceFlush: () => next.forceFlush(),
    shutdown: () => next.shutdown(),
  };
}

/** The active trace as a W3C `traceparent`, for carrying in a header or metadata. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** A context whose parent is the span a `traceparent` names (the active context without one). */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(context.active(), { traceparent }) : context.active();
}

/** Runs `fn` in a span that ends with it, recording a thrown error. */
export async function inSpan<T>(name: string, opts: SpanOptions & { parent?: Context }, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, opts, opts.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
