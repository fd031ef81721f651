import { createServer } from 'node:http';
import { once } from 'node:events';

/** A worker's probes: `/healthz` answers while the process lives, `/readyz` while `isReady()` says it consumes. */
export interface HealthListener {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the probes an orchestrator asks a process without an HTTP API of its own (Kubernetes' liveness and
 * readiness, docker compose's healthcheck): two routes, JSON answers, nothing else.
 */
export async function serveHealth(port: number, host: string, isReady: () => boolean): Promise<HealthListener> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    const answer = (status: number, body: object) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.method !== 'GET') return answer(405, { status: 'GET only' });
    if (path === '/healthz') return answer(200, { status: 'ok' });
    if (path === '/readyz') return isReady() ? answer(200, { status: 'ready' }) : answer(503, { status: 'not ready' });
    answer(404, { status: 'not found' });
  });
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as { port: number };
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
