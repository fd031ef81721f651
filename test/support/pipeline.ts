import { setTimeout as sleep } from 'node:timers/promises';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceName, ServiceProcess } from '../../tools/start/spawn-service.ts';

/** The gateway and both workers as real processes on one broker, exporting spans to `otlpUrl`. */
export interface Pipeline {
  gatewayUrl: string;
  services: ServiceProcess[];
  /** SIGTERM to each process; resolves with their exit codes (validation, kitchen, gateway). */
  stop(): Promise<Array<number | string | null>>;
}

/** Starts validation, kitchen and gateway (in that order of readiness) with `env` on top of what every test needs. */
export async function startPipeline(
  brokers: string,
  otlpUrl: string,
  env: Record<string, string> = {},
  /** Variables for one service only, on top of `env`. */
  serviceEnv: Partial<Record<ServiceName, Record<string, string>>> = {},
): Promise<Pipeline> {
  const fullEnv = {
    KAFKA_BROKERS: brokers,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    PORT: '0',
    LOG_LEVEL: 'info',
    ...env,
  };
  const services = (['validation', 'kitchen', 'gateway'] as const).map((name) =>
    spawnService(name, { ...fullEnv, ...serviceEnv[name] }),
  );
  try {
    const urls = await Promise.all(services.map((s) => s.ready));
    return { gatewayUrl: urls[2]!, services, stop: () => Promise.all(services.map((s) => s.stop())) };
  } catch (error) {
    await Promise.all(services.map((s) => s.stop()));
    throw error;
  }
}

/** Polls GET /orders/{id} until every order is ready or rejected; fails after `timeoutMs`. */
export async function waitUntilSettled(gatewayUrl: string, orderIds: string[], timeoutMs = 60_000): Promise<void> {
  const pending = new Set(orderIds);
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    for (const id of [...pending].slice(0, 50)) {
      const order = (await (await fetch(`${gatewayUrl}/orders/${id}`)).json()) as { status?: string };
      if (order.status === 'ready' || order.status === 'rejected') pending.delete(id);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${pending.size} of ${orderIds.length} orders not settled after ${timeoutMs} ms`);
    await sleep(200);
  }
}
