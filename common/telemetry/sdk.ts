import type { IncomingMessage } from 'node:http';
import module from 'node:module';
import { DiagLogLevel, context, defaultTextMapGetter, diag, propagation, trace } from '@opentelemetry/api';
import type { Context, Span, TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  ExportResultCode,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { ReadableSpan, Sampler, SpanProcessor, Span as SdkSpan } from '@opentelemetry/sdk-trace';
import type { BatchExporter } from './encoding-batch-processor.ts';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import type { FastifyOtelInstrumentation } from '@fastify/otel';
import { register as registerImportHooks, supportsSyncHooks } from 'import-in-the-middle/register-hooks.mjs';
import {
  configOrExit,
  decimal,
  flag,
  httpUrl,
  integer,
  loadConfig,
  loadConfigLeniently,
  oneOf,
  text,
} from '../config.ts';
import type { Config } from '../config.ts';

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** The OTLP/HTTP encodings this project exports in (gRPC is not offered: one exporter dependency fewer). */
const PROTOCOLS = ['http/protobuf', 'http/json'] as const;

const LOG_LEVELS = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'] as const;
const EXPORTERS = ['otlp', 'console', 'none'] as const;
/** Propagators this process can run; others named in OTEL_PROPAGATORS (b3, jaeger, …) are not installed. */
const PROPAGATORS = ['tracecontext', 'baggage', 'none'] as const;
const limit = () => integer(Number.POSITIVE_INFINITY, 0, Number.MAX_SAFE_INTEGER);

/** OTEL_PROPAGATORS: a comma-separated list of known propagator names. */
function propagatorList(raw: string | undefined): Array<(typeof PROPAGATORS)[number]> {
  const names = (raw ?? 'tracecontext,baggage').split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !(PROPAGATORS as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`may only name ${PROPAGATORS.join(', ')}`);
  return names as Array<(typeof PROPAGATORS)[number]>;
}

/**
 * The standard OTEL_* variables, as the OpenTelemetry specification reads them: a malformed value is reported once,
 * naming the variable, and its default is used (`loadConfigLeniently`).
 */
export const telemetryConfigSchema = {
  OTEL_SERVICE_NAME: text(),
  OTEL_LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  OTEL_TRACES_EXPORTER: oneOf(EXPORTERS, 'otlp'),
  OTEL_PROPAGATORS: propagatorList,
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl('http://localhost:4318'),
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf(PROTOCOLS, 'http/protobuf'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: (raw: string | undefined) =>
    raw === undefined ? undefined : oneOf(PROTOCOLS, 'http/protobuf')(raw),
  OTEL_TRACES_SAMPLER: oneOf(SAMPLERS, 'parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: decimal(undefined, 0, 1),
  OTEL_SDK_DISABLED: flag(false),
  OTEL_BSP_SCHEDULE_DELAY: integer(5000, 0, 3_600_000),
  OTEL_BSP_MAX_QUEUE_SIZE: integer(2048, 1, 1_000_000),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: integer(512, 1, 1_000_000),
  OTEL_BSP_EXPORT_TIMEOUT: integer(30_000, 0, 3_600_000),
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: limit(),
  OTEL_ATTRIBUTE_COUNT_LIMIT: integer(128, 0, Number.MAX_SAFE_INTEGER),
  OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: (raw: string | undefined) => (raw === undefined ? undefined : limit()(raw)),
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: (raw: string | undefined) => (raw === undefined ? undefined : limit()(raw)),
  OTEL_SPAN_EVENT_COUNT_LIMIT: integer(128, 0, Number.MAX_SAFE_INTEGER),
  OTEL_SPAN_LINK_COUNT_LIMIT: integer(128, 0, Number.MAX_SAFE_INTEGER),
  OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: integer(128, 0, Number.MAX_SAFE_INTEGER),
  OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: integer(128, 0, Number.MAX_SAFE_INTEGER),
};

/** The project's own telemetry variable: strict, like every ITUNA_* variable. */
const projectTelemetrySchema = { ITUNA_TRUST_INCOMING_TRACE_CONTEXT: flag(true) };

/**
 * W3C trace context and baggage, except that with `trustHttp` false what arrives in HTTP request headers is
 * ignored: at a public edge, a caller must not choose our trace ids, sampling or baggage. Kafka headers are
 * read with a getter of their own (`producerContextOf`) and always trusted: they come from our own services.
 */
function propagatorFor(names: ReadonlyArray<(typeof PROPAGATORS)[number]>, trustHttp: boolean): TextMapPropagator {
  const w3c = new CompositePropagator({
    propagators: [
      ...(names.includes('tracecontext') ? [new W3CTraceContextPropagator()] : []),
      ...(names.includes('baggage') ? [new W3CBaggagePropagator()] : []),
    ],
  });
  if (trustHttp) return w3c;
  return {
    inject: (ctx, carrier, setter) => w3c.inject(ctx, carrier, setter),
    extract: (ctx, carrier, getter) => (getter === defaultTextMapGetter ? ctx : w3c.extract(ctx, carrier, getter)),
    fields: () => w3c.fields(),
  };
}

/**
 * Copies the named baggage entries onto each span as it starts, so every span started under them — in every
 * service, on both sides of Kafka — carries them without each call site remembering to set them.
 */
function baggageAttributes(keys: readonly string[]): SpanProcessor {
  return {
    onStart(span: SdkSpan, parentContext: Context) {
      const baggage = propagation.getBaggage(parentContext);
      if (!baggage) return;
      for (const key of keys) {
        const entry = baggage.getEntry(key);
        if (entry) span.setAttribute(key, entry.value);
      }
    },
    onEnd(_span: ReadableSpan) {},
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}

/** The sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name, as the specification defines them. */
function configuredSampler(name: (typeof SAMPLERS)[number], ratio = 1): Sampler {
  const root = {
    always_on: new AlwaysOnSampler(),
    always_off: new AlwaysOffSampler(),
    traceidratio: new TraceIdRatioBasedSampler(ratio),
  };
  switch (name) {
    case 'always_on':
    case 'always_off':
    case 'traceidratio':
      return root[name];
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: root.always_on });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: root.always_off });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: root.traceidratio });
  }
}

/** A JSON log line in the services' format, for the SDK's own reports (pino is not loaded yet when telemetry starts). */
const say = (service: string, level: number, msg: string, extra: object = {}): void =>
  void process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), service, ...extra, msg })}\n`);

/**
 * The exporter, saying once when the trace backend stops taking spans and once when it takes them again. The
 * batch processor already bounds memory (OTEL_BSP_MAX_QUEUE_SIZE) and drops what does not fit; without this,
 * an outage is silent, and with the SDK's own diagnostics it is a line per failed batch.
 */
function reportingOutages<T>(exporter: BatchExporter<T>, service: string): BatchExporter<T> {
  let failing = false;
  return {
    export(items, done) {
      exporter.export(items, (result) => {
        if (result.code !== ExportResultCode.SUCCESS && !failing) {
          failing = true;
          say(service, 40, 'the trace backend is not taking spans; dropping them until it does', {
            err: result.error?.message,
          });
        } else if (result.code === ExportResultCode.SUCCESS && failing) {
          failing = false;
          say(service, 30, 'the trace backend takes spans again');
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

const DIAG_LEVELS: Record<(typeof LOG_LEVELS)[number], DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};
const PINO_LEVELS = { error: 50, warn: 40, info: 30, debug: 20, verbose: 10 } as const;

/**
 * The SDK's diagnostics as log lines in the services' format, at OTEL_LOG_LEVEL and above. One warning is always
 * heard, whatever the level: spans dropped because the span queue was full, i.e. traces with holes. The SDK says it
 * once per overflow, which can be many times a second; the counts are added up and said at most once per `everyMs`.
 */
export function reportDiagnostics(
  service: string,
  level: (typeof LOG_LEVELS)[number] = 'info',
  everyMs = 10_000,
  write = say,
): void {
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  const report = () => {
    clearTimeout(timer);
    timer = undefined;
    if (dropped > 0)
      write(service, 40, 'spans dropped: the span queue was full (raise OTEL_BSP_MAX_QUEUE_SIZE, or sample)', {
        droppedSpans: dropped,
        withinMs: everyMs,
      });
    dropped = 0;
  };
  // A process that stops within the period still says what it dropped.
  process.once('exit', report);
  const wanted = DIAG_LEVELS[level];
  const at =
    (name: keyof typeof PINO_LEVELS, diagLevel: DiagLogLevel) =>
    (message: string, ...args: unknown[]) => {
      const overflow = /^Dropped (\d+) spans because maxQueueSize reached/.exec(message);
      if (overflow) {
        dropped += Number(overflow[1]);
        timer ??= setTimeout(report, everyMs).unref();
      } else if (diagLevel <= wanted) {
        write(service, PINO_LEVELS[name], message, args.length ? { args: args.map(String) } : {});
      }
    };
  diag.setLogger(
    {
      error: at('error', DiagLogLevel.ERROR),
      warn: at('warn', DiagLogLevel.WARN),
      info: at('info', DiagLogLevel.INFO),
      debug: at('debug', DiagLogLevel.DEBUG),
      verbose: at('verbose', DiagLogLevel.VERBOSE),
    },
    { logLevel: Math.max(wanted, DiagLogLevel.WARN), suppressOverrideMessage: true },
  );
}

let provider: TracerProvider | undefined;
let fastifyInstrumentation: FastifyOtelInstrumentation | undefined;

/** What a service tells the telemetry module about itself; the module knows no routes and no domain. */
export interface TelemetryOptions {
  /** Incoming HTTP requests whose path matches get no spans (probes, docs). */
  ignoreIncomingPaths?: RegExp;
  /** Baggage entries copied onto every span started under them. */
  baggageAttributes?: readonly string[];
  /** Called with each incoming request's HTTP SERVER span, as it starts. */
  onIncomingRequestSpan?: (request: IncomingMessage, span: Span) => void;
  /** The service registers `@fastify/otel` where it wants Fastify's spans (`fastifyTracingPlugin`); only then is it loaded. */
  fastifySpans?: boolean;
}

/**
 * The modules the instrumentations patch. The ESM import hook wraps only these: wrapping every module a process
 * loads costs memory and start-up for nothing.
 */
const INSTRUMENTED_MODULES = ['http', 'https', 'fastify', 'pino'];

/**
 * The span processor for OTEL_TRACES_EXPORTER: for OTLP, the exporter OTEL_EXPORTER_OTLP_TRACES_PROTOCOL (or
 * OTEL_EXPORTER_OTLP_PROTOCOL) names, both reading the OTEL_EXPORTER_OTLP_* endpoint, headers and timeout, behind a
 * batch processor reading OTEL_BSP_*. Only the exporter used is loaded. None for `none`: the context still propagates,
 * so the services downstream keep their traces.
 */
async function spanExport(
  config: Config<typeof telemetryConfigSchema>,
  service: string,
): Promise<SpanProcessor | undefined> {
  const batches = {
    scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY,
    maxQueueSize: config.OTEL_BSP_MAX_QUEUE_SIZE,
    maxExportBatchSize: Math.min(config.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, config.OTEL_BSP_MAX_QUEUE_SIZE),
    exportTimeoutMillis: config.OTEL_BSP_EXPORT_TIMEOUT,
  };
  if (config.OTEL_TRACES_EXPORTER === 'none') return undefined;
  if (config.OTEL_TRACES_EXPORTER === 'console')
    return new BatchSpanProcessor({ exporter: new ConsoleSpanExporter(), ...batches });
  if ((config.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? config.OTEL_EXPORTER_OTLP_PROTOCOL) === 'http/protobuf') {
    const [{ protobufTraceExporter }, { EncodingBatchProcessor }] = await Promise.all([
      import('./otlp-protobuf.ts'),
      import('./encoding-batch-processor.ts'),
    ]);
    return new EncodingBatchProcessor(reportingOutages(protobufTraceExporter(), service), batches);
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  return new BatchSpanProcessor({ exporter: reportingOutages(new OTLPTraceExporter(), service), ...batches });
}

/**
 * `require` and `process.getBuiltinModule` as they were before the instrumentations hooked them, and as hooked: the
 * hook is needed while the instrumented modules load, and only then (see `stopPatchingModules`).
 */
let moduleLoading: { before: ModuleLoading; hooked: ModuleLoading; importHooks?: ModuleHooks } | undefined;
type ModuleHooks = ReturnType<typeof module.registerHooks>;
type ModuleLoading = {
  require: (typeof module.prototype)['require'];
  getBuiltinModule: typeof process.getBuiltinModule;
};
const moduleLoadingNow = (): ModuleLoading => ({
  require: module.prototype.require,
  getBuiltinModule: process.getBuiltinModule,
});

/**
 * Starts tracing for one service. Must run, and be awaited, before fastify, pino or http are imported, which
 * is why each process loads it with `node --import` through its own `instrument.ts`.
 *
 * Assembled from its parts rather than with `@opentelemetry/sdk-node`: traces only, each OTEL_* value read leniently
 * as the specification asks, and nothing loaded that no variable asks for (docs/tracing.md has the NodeSDK recipe).
 */
export async function startTelemetry(
  defaultServiceName: string,
  options: TelemetryOptions = {},
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  const strict = configOrExit(() => loadConfig(projectTelemetrySchema, env));
  const service = env.OTEL_SERVICE_NAME || defaultServiceName;
  const config = loadConfigLeniently(telemetryConfigSchema, env, (problem) => say(service, 40, problem));
  if (config.OTEL_SDK_DISABLED) return;

  const before = moduleLoadingNow();
  // ESM imports bypass require(), so the instrumentations need the import hook to see fastify, pino and http.
  let importHooks: ModuleHooks | undefined;
  if (supportsSyncHooks()) importHooks = registeringImportHooks();
  else
    module.register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
      data: { include: INSTRUMENTED_MODULES },
    });

  const serviceName = config.OTEL_SERVICE_NAME ?? defaultServiceName;
  const ignored = (url: string | undefined) => options.ignoreIncomingPaths?.test(url ?? '') ?? false;
  reportDiagnostics(serviceName, config.OTEL_LOG_LEVEL);
  const exported = await spanExport(config, serviceName);
  const resource = defaultResource()
    .merge(
      detectResources({
        detectors: [serviceInstanceIdDetector, processDetector, hostDetector, osDetector, envDetector],
      }),
    )
    .merge(resourceFromAttributes({ 'service.name': serviceName }));
  provider = new TracerProvider({
    resource,
    sampler: configuredSampler(config.OTEL_TRACES_SAMPLER, config.OTEL_TRACES_SAMPLER_ARG),
    // Span-specific limits first, then the general ones, as the specification orders them.
    spanLimits: {
      attributeValueLengthLimit:
        config.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? config.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
      attributeCountLimit: config.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT ?? config.OTEL_ATTRIBUTE_COUNT_LIMIT,
      eventCountLimit: config.OTEL_SPAN_EVENT_COUNT_LIMIT,
      linkCountLimit: config.OTEL_SPAN_LINK_COUNT_LIMIT,
      attributePerEventCountLimit: config.OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
      attributePerLinkCountLimit: config.OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
    },
    // Traces only: no log records and no metrics over OTLP (the logs go to stdout as pino JSON lines, carrying
    // trace_id and span_id), so nothing is sent to a backend that would not take it.
    spanProcessors: [baggageAttributes(options.baggageAttributes ?? []), ...(exported ? [exported] : [])],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(propagatorFor(config.OTEL_PROPAGATORS, strict.ITUNA_TRUST_INCOMING_TRACE_CONTEXT));
  trace.setGlobalTracerProvider(provider);
  // Registered as a plugin by the service where it wants Fastify's hook and handler spans (fastifyTracingPlugin),
  // not on every Fastify instance: its request span would repeat the HTTP SERVER span of every request.
  if (options.fastifySpans) {
    const { FastifyOtelInstrumentation } = await import('@fastify/otel');
    fastifyInstrumentation = new FastifyOtelInstrumentation({
      registerOnInitialization: false,
      ignorePaths: ({ url }: { url: string }) => ignored(url),
    });
  }
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => ignored(request.url),
        requestHook: (span, request) => {
          // Called for outgoing requests too; only an incoming one has no getHeader().
          if (options.onIncomingRequestSpan && !('getHeader' in request)) options.onIncomingRequestSpan(request, span);
        },
      }),
      ...(fastifyInstrumentation ? [fastifyInstrumentation] : []),
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  moduleLoading = { before, hooked: moduleLoadingNow(), importHooks };
}

/**
 * Takes the instrumentations' module hooks off once the service has loaded its modules. The instrumentations patch
 * a module as it loads, through a `require` hook and an import hook that each resolve every `require()` call again,
 * and kafkajs `require`s its protocol modules on every request: a few per cent of a worker's CPU, busy or idle, for
 * nothing once every instrumented module is loaded. A module first loaded after this is not instrumented. The
 * `require` hook is left alone if something else has hooked `require` since.
 */
export function stopPatchingModules(): void {
  if (!moduleLoading) return;
  const { before, hooked, importHooks } = moduleLoading;
  moduleLoading = undefined;
  if (module.prototype.require === hooked.require) module.prototype.require = before.require;
  if (process.getBuiltinModule === hooked.getBuiltinModule) process.getBuiltinModule = before.getBuiltinModule;
  importHooks?.deregister();
}

/**
 * Registers import-in-the-middle's import hook and returns its handle, which its `register` drops: the call it makes
 * to `module.registerHooks` is caught on the way (its `import * as module` sees the swap once the builtin's exports
 * are synced). Should a later version register otherwise, there is no handle and the hook stays.
 */
function registeringImportHooks(): ModuleHooks | undefined {
  const { registerHooks } = module;
  let handle: ModuleHooks | undefined;
  module.registerHooks = (hooks) => (handle = registerHooks(hooks));
  module.syncBuiltinESMExports();
  try {
    registerImportHooks({ include: INSTRUMENTED_MODULES });
  } finally {
    module.registerHooks = registerHooks;
    module.syncBuiltinESMExports();
  }
  return handle;
}

/**
 * `@fastify/otel` as a Fastify plugin, or undefined when tracing is off: a request span with a span per hook and
 * for the handler, on the routes whose `config.otel` is not `false`.
 */
export function fastifyTracingPlugin(): ReturnType<FastifyOtelInstrumentation['plugin']> | undefined {
  return fastifyInstrumentation?.plugin();
}

/** Flushes the spans still buffered and stops the SDK; call it last when a process shuts down. */
export async function stopTelemetry(): Promise<void> {
  const running = provider;
  provider = undefined;
  await running?.shutdown();
}
