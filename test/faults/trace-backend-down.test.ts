import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, describe, it } from 'node:test';
import { runLoad } from '../../load/runner.ts';
import { testBrokers } from '../support/broker.ts';
import { startPipeline, waitUntilSettled } from '../support/pipeline.ts';

// Orders must not care whether traces can be delivered.
const load = { description: 'test', startRate: 40, stages: [{ seconds: 4, target: 40 }], maxInFlight: 100 };
const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** A port where nothing answers (down), or a server that takes requests and never replies (slow). */
async function traceBackend(kind: 'down' | 'slow'): Promise<string> {
  const server = createServer(() => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  if (kind === 'down') {
    server.close();
    await once(server, 'close');
  } else servers.push(server);
  return `http://127.0.0.1:${port}`;
}

describe('a trace backend that is down or hangs', { timeout: 180_000 }, () => {
  for (const kind of ['down', 'slow'] as const) {
    it(`When the trace backend is ${kind}, then orders flow as before, memory stays bounded, and each service warns once`, async (t) => {
      const pipeline = await startPipeline(await testBrokers(), await traceBackend(kind), {
        ITUNA_DELAYS: 'address=1,name=1,inventory=1,cook=2',
        ITUNA_KITCHEN_CHEFS: '8',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        OTEL_BSP_MAX_QUEUE_SIZE: '1000',
      });
      try {
        const summary = await runLoad({ baseUrl: pipeline.gatewayUrl, scenario: load, runId: `backend-${kind}` });
        assert.equal(summary.byStatus[202], summary.sent);
        await waitUntilSettled(
          pipeline.gatewayUrl,
          summary.accepted.map((a) => a.orderId),
          60_000,
        );
        const rss = await Promise.all(pipeline.services.map((s) => rssMb(s.child.pid!)));
        const warnings = pipeline.services.map(
          (s) => s.lines.filter((l) => l.includes('the trace backend is not taking spans')).length,
        );
        t.diagnostic(
          `${summary.sent} orders all settled; p99 ${summary.latency.p99.toFixed(1)} ms; RSS MB ${rss.map((r) => r.toFixed(0)).join('/')}; warnings ${warnings.join('/')}`,
        );
        assert.deepEqual(warnings, [1, 1, 1], 'one warning per service, not one per batch');
        for (const mb of rss) assert.ok(mb < 300, `a service uses ${mb.toFixed(0)} MB`);
      } finally {
        const codes = await pipeline.stop();
        const tails = pipeline.services
          .filter((_, i) => codes[i] !== 0)
          .map((s) => `${s.name}:\n${s.lines.slice(-30).join('\n')}`);
        assert.deepEqual(
          codes,
          [0, 0, 0],
          `each service still stops cleanly, bounded by the flush limit\n${tails.join('\n')}`,
        );
      }
    });
  }
});
