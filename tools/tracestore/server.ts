import { once } from 'node:events';
import type { Kafka } from 'kafkajs';
import { createServer } from 'node:http';
import { otlpHandler } from './intake.ts';
import { startMonitorFeed } from './monitor-feed.ts';
import { loadOtlpProtobuf } from './otlp-protobuf.ts';
import { queryHandler } from './query-listener.ts';
import type { TraceStore } from './store.ts';

/** The embedded trace store's two listeners, on Jaeger's ports so every tool works the same against both. */
export interface TraceStoreServer {
  otlpUrl: string;
  queryUrl: string;
  close(): Promise<void>;
}

/**
 * Listens for OTLP on `otlpPort` and answers queries on `queryPort` (0 = free ports), on `host`. The live monitor
 * follows the spans as they arrive (`monitor: false` leaves it out) and reads the consumer groups' lag from `kafka`.
 */
export async function startTraceStoreServer(
  store: TraceStore,
  {
    otlpPort = 4318,
    queryPort = 16686,
    host = '127.0.0.1',
    monitor = true,
    kafka,
  }: { otlpPort?: number; queryPort?: number; host?: string; monitor?: boolean; kafka?: Kafka } = {},
): Promise<TraceStoreServer> {
  await loadOtlpProtobuf();
  const feed = monitor ? startMonitorFeed(store, { kafka }) : undefined;
  const otlp = createServer(otlpHandler(store, feed?.monitor));
  const query = createServer(queryHandler(store, feed));
  otlp.listen(otlpPort, host);
  query.listen(queryPort, host);
  await Promise.all([once(otlp, 'listening'), once(query, 'listening')]);
  const url = (server: typeof otlp) => `http://${host}:${(server.address() as { port: number }).port}`;
  return {
    otlpUrl: url(otlp),
    queryUrl: url(query),
    async close() {
      feed?.stop();
      for (const server of [otlp, query]) {
        server.closeAllConnections();
        server.close();
      }
      await store.flush();
    },
  };
}
