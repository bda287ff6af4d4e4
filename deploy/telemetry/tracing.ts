/**
 * OpenTelemetry tracing: one trace per call, across API → Temporal client → workflow →
 * activities → media worker (via the dispatch metadata) → NATS (the `traceparent` header)
 * → event bridge → the workflow's signal handler.
 *
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then no tracer provider and no propagator
 * are installed, the OpenTelemetry API stays its no-op self, Temporal gets no interceptors
 * and `currentTraceparent()` returns nothing, so tracing costs nothing when unused.
 */
import { createRequire } from 'node:module';
import { SpanStatusCode, context, propagation, trace, type Context, type Span, type SpanOptions } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryActivityInboundInterceptor, OpenTelemetryWorkflowClientInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import type { Config, ProcessRole } from '../config.js';

export interface Tracing {
  enabled: boolean;
  /** Sends spans still batched. */
  flush(): Promise<void>;
  /** Flushes, then stops tracing; call before the process exits. */
  shutdown(): Promise<void>;
  /** Worker options that trace workflows and activities (empty when tracing is off). */
  workerOptions(opts: { prebuiltBundle: boolean }): Pick<WorkerOptions, 'interceptors' | 'sinks'>;
}

const off: Tracing = { enabled: false, flush: () => Promise.resolve(), shutdown: () => Promise.resolve(), workerOptions: () => ({}) };

/** The tracer Kickcall's own spans come from. A proxy until (unless) a provider registers. */
export const tracer = trace.getTracer('kickcall');

/** Temporal client interceptors: the client's calls carry the active trace to workflows. */
export function temporalClientInterceptors(tracing: Tracing) {
  return tracing.enabled ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : {};
}

export function startTracing(config: Config, role: ProcessRole | 'media-job'): Tracing {
  const endpoint = config.telemetry.otlpEndpoint;
  if (!endpoint) return off;
  const resource = resourceFromAttributes({ 'service.name': `kickcall-${role}` });
  // Short batches: a call's spans should reach the collector while someone watches it.
  const batch = new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }), { scheduledDelayMillis: 500 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [ownSpansOnly(batch)] });
  provider.register();
  const require = createRequire(import.meta.url);
  return {
    enabled: true,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
    workerOptions: ({ prebuiltBundle }) => ({
      interceptors: {
        // A prebuilt bundle has its interceptors compiled in; it cannot gain them here.
        ...(prebuiltBundle ? {} : { workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')] }),
        activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })],
      },
      sinks: { exporter: makeWorkflowExporter(fromWorkflowSpans(batch) as never, resource) },
    }),
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

/**
 * Temporal's workflow spans cross the sandbox boundary in the OpenTelemetry SDK 1.x shape
 * (`parentSpanId`, `instrumentationLibrary`); the exporter here is SDK 2.x (the version
 * @livekit/agents brings), which reads `parentSpanContext` and `instrumentationScope`.
 */
function fromWorkflowSpans(next: SpanProcessor): SpanProcessor {
  return {
    onStart: () => undefined,
    onEnd(span: ReadableSpan) {
      const legacy = span as ReadableSpan & { parentSpanId?: string; instrumentationLibrary?: { name: string; version?: string } };
      const ctx = span.spanContext();
      next.onEnd({
        ...span,
        spanContext: () => ctx,
        parentSpanContext: legacy.parentSpanId ? { traceId: ctx.traceId, spanId: legacy.parentSpanId, traceFlags: ctx.traceFlags, isRemote: false } : undefined,
        instrumentationScope: span.instrumentationScope ?? legacy.instrumentationLibrary ?? { name: '@temporalio/interceptors-opentelemetry' },
      });
    },
    forceFlush: () => next.forceFlush(),
    shutdown: () => Promise.resolve(),
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
