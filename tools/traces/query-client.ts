import { flattenResourceSpans } from './otlp.ts';
import type { FlatSpan } from './otlp.ts';

/** A trace search: Jaeger's `query.*` parameters in the project's units. */
interface TraceSearch {
  service?: string;
  operation?: string;
  since: Date;
  until?: Date;
  minDurationMs?: number;
  maxDurationMs?: number;
  attributes?: Record<string, string>;
  limit?: number;
}

/** Reads traces through Jaeger's api/v3, from Jaeger v2 or the embedded trace store alike (JAEGER_QUERY_URL). */
export interface TraceQueryClient {
  trace(traceId: string): Promise<FlatSpan[]>;
  /**
   * Traces with one span that started within [since, until] and matches every other part given (its service, name,
   * duration in ms, attributes by their text), newest first, at most `limit`. Jaeger before 2.19 ignores `attributes`.
   */
  findTraces(query: TraceSearch): Promise<FlatSpan[][]>;
  services(): Promise<string[]>;
}

/** A client for the api/v3 query API at `baseUrl` (e.g. http://localhost:16686). */
export function createTraceQueryClient(baseUrl: string, { timeoutMs = 30_000 } = {}): TraceQueryClient {
  const get = async (path: string): Promise<unknown | undefined> => {
    const response = await fetch(new URL(path, baseUrl), { signal: AbortSignal.timeout(timeoutMs) }).catch((error) => {
      const cause = (error as Error & { cause?: Error }).cause ?? error;
      throw new Error(`no answer from ${baseUrl}: ${(cause as Error).message}`);
    });
    if (response.status === 404) return undefined;
    if (!response.ok)
      throw new Error(`GET ${path} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    return response.json();
  };
  const spansOf = (body: unknown) => (body ? flattenResourceSpans((body as { result: unknown }).result) : []);
  return {
    trace: async (traceId) => spansOf(await get(`/api/v3/traces/${traceId}`)),
    async findTraces({
      service,
      operation,
      since,
      until = new Date(),
      minDurationMs,
      maxDurationMs,
      attributes,
      limit = 1000,
    }) {
      const params = new URLSearchParams({
        'query.start_time_min': since.toISOString(),
        'query.start_time_max': until.toISOString(),
        // Jaeger 2.13 reads num_traces, later ones search_depth as well.
        'query.search_depth': String(limit),
        'query.num_traces': String(limit),
      });
      if (service) params.set('query.service_name', service);
      if (operation) params.set('query.operation_name', operation);
      if (minDurationMs !== undefined) params.set('query.duration_min', `${minDurationMs}ms`);
      if (maxDurationMs !== undefined) params.set('query.duration_max', `${maxDurationMs}ms`);
      if (attributes) params.set('query.attributes', JSON.stringify(attributes));
      const spans = spansOf(await get(`/api/v3/traces?${params}`));
      return [...Map.groupBy(spans, (s) => s.traceId).values()].sort(
        (a, b) => Math.min(...b.map((s) => s.startMs)) - Math.min(...a.map((s) => s.startMs)),
      );
    },
    services: async () => ((await get('/api/v3/services')) as { services?: string[] } | undefined)?.services ?? [],
  };
}
