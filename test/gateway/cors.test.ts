import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { after, before, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../tools/bench/browser.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { testBrokers } from '../support/broker.ts';
import { onlineOrder } from '../support/fixtures.ts';

// A web page on another origin places an order and reads what a client needs from the response's headers.
let gateway: ServiceProcess;
let page: Server;
let browser: Browser | undefined;
let pageOrigin: string;

before(async () => {
  page = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>shop</title>');
  }).listen(0, '127.0.0.1');
  await once(page, 'listening');
  pageOrigin = `http://127.0.0.1:${(page.address() as { port: number }).port}`;
  gateway = spawnService('gateway', {
    KAFKA_BROKERS: await testBrokers(),
    OTEL_SDK_DISABLED: 'false',
    PORT: '0',
    ITUNA_CORS_ORIGINS: pageOrigin,
    ITUNA_ORDERS_PER_MINUTE: '3',
  });
  await gateway.ready;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await gateway?.stop();
  page?.close();
});

it('When a page on an allowed origin places an order, then it can read traceresponse, Location, Idempotent-Replayed, Retry-After and the rate-limit headers', async (t) => {
  if (!browser) {
    if (process.env.CI) assert.fail('chromium is missing: .ci/run must install it');
    return t.skip('chromium is not installed');
  }
  const gatewayUrl = (await gateway.ready)!;
  const tab = await browser.newPage();
  await tab.goto(pageOrigin);
  const seen = await tab.evaluate(
    async ({ url, body }) => {
      const post = (key: string) =>
        fetch(`${url}/orders/online`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify(body),
        });
      const names = ['traceresponse', 'location', 'idempotent-replayed', 'retry-after'];
      const read = async (response: Promise<Response>) => {
        const r = await response;
        const headers: Record<string, string | null> = { status: String(r.status) };
        for (const name of [...names, 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'])
          headers[name] = r.headers.get(name);
        return headers;
      };
      // Three orders a minute: the fourth request from this client is refused with 429 and Retry-After.
      const first = await read(post('cors-key'));
      const again = await read(post('cors-key'));
      await post('cors-other');
      const limited = await read(post('cors-third'));
      return { first, again, limited };
    },
    { url: gatewayUrl, body: onlineOrder },
  );
  assert.equal(seen.first.status, '202');
  assert.match(String(seen.first.traceresponse), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  assert.match(String(seen.first.location), /^\/orders\/[0-9a-f-]{36}$/);
  assert.equal(seen.first['ratelimit-limit'], '3');
  assert.ok(seen.first['ratelimit-remaining'] !== null && seen.first['ratelimit-reset'] !== null);
  assert.equal(seen.again['idempotent-replayed'], 'true');
  assert.equal(seen.again.location, seen.first.location);
  assert.equal(seen.limited.status, '429');
  assert.match(String(seen.limited['retry-after']), /^\d+$/);
  await tab.close();
});
