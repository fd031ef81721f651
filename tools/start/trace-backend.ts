/** One line saying where traces go when something already listens on the OTLP port: what it answered, and its query API. */
export async function describeTraceBackend(otlpUrl: string, queryUrl: string): Promise<string> {
  const answer = (url: string, init?: RequestInit) =>
    fetch(url, { ...init, signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  // An empty export is valid OTLP: a receiver takes it with a 2xx and stores nothing.
  const otlp = await answer(`${otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"resourceSpans":[]}',
  });
  if (!otlp?.ok) {
    return `something listens on ${otlpUrl} but does not take OTLP/HTTP (POST /v1/traces answered ${otlp?.status ?? 'nothing'}): traces will be lost; stop it or set OTEL_EXPORTER_OTLP_ENDPOINT`;
  }
  const services = await answer(`${queryUrl}/api/v3/services`);
  const apiV3 = services?.ok && (await services.json().catch(() => undefined)) !== undefined;
  return `traces go to the OTLP receiver already on ${otlpUrl}${apiV3 ? `; query them at ${queryUrl} (it answers Jaeger's api/v3)` : ''}`;
}
