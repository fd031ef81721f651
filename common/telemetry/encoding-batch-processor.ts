import { TraceFlags, context, diag } from '@opentelemetry/api';
import { ExportResultCode, globalErrorHandler, suppressTracing } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import { EncodedSpans } from './otlp-protobuf.ts';

/** An exporter of batches of some kind: the OpenTelemetry exporters' shape, whatever they take. */
export interface BatchExporter<T> {
  export(items: T, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/** The batch processor's settings, OTEL_BSP_* as the specification names them. */
export interface BatchOptions {
  scheduledDelayMillis: number;
  maxQueueSize: number;
  maxExportBatchSize: number;
  exportTimeoutMillis: number;
}

/**
 * The SDK's BatchSpanProcessor, with each span written as OTLP protobuf as it ends instead of kept until its batch
 * leaves. The same OTEL_BSP_* settings and behaviour: at most `maxQueueSize` spans waiting (the rest dropped and
 * counted), a batch sent once `maxExportBatchSize` are waiting or `scheduledDelayMillis` after the first, one export at
 * a time, the exporter's own HTTP requests untraced. Why: a span waits 100 ms to seconds for its batch, long enough
 * for V8 to promote it and all it holds into the old generation, where only a full collection frees it; its few
 * hundred bytes in a buffer cost the collector nothing (docs/benchmarks-history.md, tuning 36).
 */
export class EncodingBatchProcessor implements SpanProcessor {
  #filling: EncodedSpans | undefined;
  readonly #full: EncodedSpans[] = [];
  readonly #spare: EncodedSpans[] = [];
  #queued = 0;
  #dropped = 0;
  #exporting: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  readonly #exporter: BatchExporter<EncodedSpans>;
  readonly #options: BatchOptions;

  constructor(exporter: BatchExporter<EncodedSpans>, options: BatchOptions) {
    this.#exporter = exporter;
    this.#options = options;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#stopped || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queued >= this.#options.maxQueueSize) {
      this.#dropped++;
      return;
    }
    if (this.#dropped > 0) {
      // The SDK's own words, which the services' diagnostics count (sdk.ts, reportDiagnostics).
      diag.warn(`Dropped ${this.#dropped} spans because maxQueueSize reached`);
      this.#dropped = 0;
    }
    this.#filling ??= this.#spare.pop() ?? new EncodedSpans();
    this.#filling.add(span);
    this.#queued++;
    if (this.#filling.count >= this.#options.maxExportBatchSize) this.#seal();
    this.#next();
  }

  /** Every span ended so far exported (or failed), one batch after another. */
  async forceFlush(): Promise<void> {
    this.#seal();
    while (this.#exporting || this.#full.length > 0) await (this.#exporting ?? this.#exportOne());
  }

  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    await this.forceFlush();
    this.#stopped = true;
    await this.#exporter.shutdown();
  }

  /** The batch being filled, moved to those waiting to leave. */
  #seal(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#filling) return;
    this.#full.push(this.#filling);
    this.#filling = undefined;
  }

  /** A full batch leaves now if none is leaving; a partial one leaves after the delay. */
  #next(): void {
    if (this.#exporting) return;
    if (this.#full.length > 0) {
      this.#exportOne().catch(globalErrorHandler);
      return;
    }
    if (this.#filling && !this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#seal();
        this.#next();
      }, this.#options.scheduledDelayMillis);
      this.#timer.unref();
    }
  }

  #exportOne(): Promise<void> {
    const batch = this.#full.shift()!;
    this.#exporting = this.#send(batch).finally(() => {
      this.#exporting = undefined;
      this.#next();
    });
    return this.#exporting;
  }

  /** Exported at once, unless a resource's attributes are still being detected. */
  #send(batch: EncodedSpans): Promise<void> {
    this.#queued -= batch.count;
    const pending = new Set(batch.resources.filter((r) => r.asyncAttributesPending));
    const exported = () =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('Timeout')), this.#options.exportTimeoutMillis);
        const done = (result: ExportResult) => {
          clearTimeout(timer);
          if (result.code === ExportResultCode.SUCCESS) resolve();
          else reject(result.error ?? new Error('span export failed'));
        };
        // The exporter writes the request before export() returns, so the batch is free again right after.
        context.with(suppressTracing(context.active()), () => this.#exporter.export(batch, done));
        batch.clear();
        // Two kept for reuse: more are made only while exports fall behind.
        if (this.#spare.length < 2) this.#spare.push(batch);
      });
    const sent =
      pending.size === 0
        ? exported()
        : Promise.all([...pending].map((r) => r.waitForAsyncAttributes?.())).then(exported);
    return sent.catch(globalErrorHandler);
  }
}
