import { flattenResourceSpans } from './otlp.ts';
import type { FlatSpan } from './otlp.ts';

/** Reads traces through Jaeger's api/v3, from Jaeger v2 or the embedded trace store alike (JAEGER_QUERY_URL). */
export interface TraceQueryClient {
  trace(traceId: string): Promise<FlatSpan[]>;
  /** Traces with a span of `service` that started within [since, until], newest first, at most `limit`. */
  findTraces(query: { service: string; since: Date; until?: Date; limit?: number }): Promise<FlatSpan[][]>;
  services(): Promise<string[]>;
}

/** A client for the api/v3 query API at `baseUrl` (e.g. http://localhost:16686). */
export function createTraceQueryClient(baseUrl: string, { timeoutMs = 30_000 } = {}): TraceQueryClient {
  const get = async (path: string): Promise<unknown | undefined> => {
    const response = await fetch(new URL(path, baseUrl), { signal: AbortSignal.timeout(timeoutMs) });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    return response.json();
  };
  const spansOf = (body: unknown) => (body ? flattenResourceSpans((body as { result: unknown }).result) : []);
  return {
    trace: async (traceId) => spansOf(await get(`/api/v3/traces/${traceId}`)),
    async findTraces({ service, since, until = new Date(), limit = 1000 }) {
      const params = new URLSearchParams({
        'query.service_name': service,
        'query.start_time_min': since.toISOString(),
        'query.start_time_max': until.toISOString(),
        'query.search_depth': String(limit),
        'query.num_traces': String(limit),
      });
      const spans = spansOf(await get(`/api/v3/traces?${params}`));
      return [...Map.groupBy(spans, (s) => s.traceId).values()].sort(
        (a, b) => Math.min(...b.map((s) => s.startMs)) - Math.min(...a.map((s) => s.startMs)),
      );
    },
    services: async () => ((await get('/api/v3/services')) as { services?: string[] } | undefined)?.services ?? [],
  };
}
