import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kafka } from 'kafkajs';
import { loadConfig } from '../../common/config.ts';
import { createKafka, kafkaSecurity, kafkaSecuritySchema } from '../../common/kafka/client.ts';
import { createLogger } from '../../common/logger.ts';
import { snapshotConsumerGroups } from '../traces/consumer-groups.ts';
import { createLiveMonitor } from '../traces/live-monitor.ts';
import type { LiveMonitor } from '../traces/live-monitor.ts';
import { analyzeTraces } from '../traces/run-analysis.ts';
import { verdictOf } from '../traces/wording.ts';
import type { TraceStore } from './store.ts';

/** How often the verdict is recomputed, from the traces of the last minute (at most VERDICT_TRACES of them). */
const VERDICT_EVERY_MS = 5000;
const VERDICT_TRACES = 200;
const LAG_EVERY_MS = 5000;

/** The live monitor fed by the store's intake, its verdict and lag kept fresh, and its event stream. */
export interface MonitorFeed {
  monitor: LiveMonitor;
  /**
   * GET /monitor/events?run=…: server-sent events, the whole window first, then every second the last 15 s. The
   * verdict (every 5 s, from the last minute's traces) and the lag (every 5 s) are worked out only while one is open.
   */
  stream(request: IncomingMessage, response: ServerResponse, run: string): void;
  stop(): void;
}

export function startMonitorFeed(store: TraceStore, { kafka }: { kafka?: Kafka } = {}): MonitorFeed {
  const monitor = createLiveMonitor();
  const streams = new Set<ServerResponse>();
  // The verdict and the lag are for someone watching: nobody on the page, no work.
  const judge = () => {
    if (streams.size === 0) return;
    const since = BigInt(Date.now() - 60_000) * 1_000_000n;
    for (const run of ['', ...monitor.runs()]) {
      const traces = store.find({
        startMin: since,
        limit: VERDICT_TRACES,
        ...(run ? { attributes: { 'ituna.run.id': run } } : {}),
      });
      if (traces.length > 0) monitor.setVerdict(run, verdictOf(analyzeTraces(traces)));
    }
  };
  let reading = false;
  const readLag = async () => {
    if (!kafka || reading || streams.size === 0) return;
    reading = true;
    try {
      const snapshot = await snapshotConsumerGroups(kafka, { timeoutMs: 4000 });
      monitor.setLag(Date.now(), snapshot.available ? snapshot.groups : { reason: snapshot.reason });
    } finally {
      reading = false;
    }
  };
  const timers = [setInterval(judge, VERDICT_EVERY_MS), setInterval(() => void readLag(), LAG_EVERY_MS)];
  for (const timer of timers) timer.unref();
  return {
    monitor,
    stream(request, response, run) {
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      const send = (sinceS?: number) =>
        response.write(
          `data: ${JSON.stringify({ ...monitor.snapshot(run, sinceS), ...(kafka ? {} : { lagNote: 'Kafka not configured for the trace store (KAFKA_BROKERS)' }) })}\n\n`,
        );
      send();
      const timer = setInterval(() => send(15), 1000);
      const first = streams.size === 0;
      streams.add(response);
      if (first) {
        judge();
        void readLag();
      }
      request.once('close', () => {
        clearInterval(timer);
        streams.delete(response);
      });
    },
    stop() {
      for (const timer of timers) clearInterval(timer);
      for (const response of streams) response.end();
    },
  };
}

/**
 * The Kafka client the monitor reads lag with: the brokers given, TLS and SASL from the same variables as the services
 * (throws naming a bad one); few retries and short timeouts, so a Kafka that is away costs the store nothing.
 */
export function monitorKafka(brokers: string[], env: Record<string, string | undefined>): Kafka {
  return createKafka(
    'ituna-tracestore',
    brokers,
    createLogger('ituna-tracestore', 'silent'),
    kafkaSecurity(loadConfig(kafkaSecuritySchema, env)),
    { retry: { initialRetryTime: 100, retries: 2 }, connectionTimeout: 1000, requestTimeout: 4000 },
  );
}
