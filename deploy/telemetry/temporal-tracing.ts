/**
 * Tracing for Temporal's side of a call: client interceptors that carry the active trace
 * into the workflows they start and signal, and worker options that trace workflows and
 * activities and export the workflow sandbox's spans. Kept apart from tracing.ts so that
 * processes without Temporal (the media job, started once per call) do not load it.
 */
import { createRequire } from 'node:module';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryActivityInboundInterceptor, OpenTelemetryWorkflowClientInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracing } from './tracing.js';

/** Temporal client interceptors: the client's calls carry the active trace to workflows. */
export function temporalClientInterceptors(tracing: Tracing) {
  return tracing.enabled ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : {};
}

/** Worker options that trace workflows and activities (empty when tracing is off). */
export function temporalWorkerTracing(tracing: Tracing, opts: { prebuiltBundle: boolean }): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  if (!tracing.enabled) return {};
  const require = createRequire(import.meta.url);
  return {
    interceptors: {
      // A prebuilt bundle has its interceptors compiled in; it cannot gain them here.
      ...(opts.prebuiltBundle ? {} : { workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')] }),
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })],
    },
    sinks: { exporter: makeWorkflowExporter(fromWorkflowSpans(tracing.exporter.spans) as never, tracing.exporter.resource) },
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
