import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../tools/bench/browser.ts';
import { testBrokers } from '../support/broker.ts';
import { buildTestGateway } from '../support/gateway.ts';
import type { TestGateway } from '../support/gateway.ts';

let gateway: TestGateway;
let app: FastifyInstance;
let browser: Browser | undefined;

before(async () => {
  gateway = await buildTestGateway({ brokers: await testBrokers() });
  app = gateway.app;
  await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await gateway?.close();
});

it('When a user clicks "Try it out" and "Execute" on POST /orders/online in Swagger UI, then the example order is accepted', async (t) => {
  if (!browser) {
    if (process.env.CI) assert.fail('chromium is missing: .ci/run must install it (apt-get install -y chromium)');
    t.skip('chromium is not installed (apt-get install -y chromium)');
    return;
  }
  const page = await browser.newPage();
  const external: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(app.listeningOrigin)) external.push(request.url());
  });
  await page.goto(`${app.listeningOrigin}/docs`);
  const operation = page.locator('#operations-orders-post_orders_online');
  await operation.locator('.opblock-summary').click();
  await operation.locator('button.try-out__btn').click();
  await operation.locator('button.execute').click();
  const status = operation.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor({ timeout: 15_000 });
  assert.equal((await status.textContent())?.trim().slice(0, 3), '202');
  const body = JSON.parse(
    (await operation.locator('.live-responses-table tbody .response-col_description pre').first().textContent()) ??
      '{}',
  );
  assert.equal(body.status, 'accepted');
  assert.equal(gateway.orders.get(body.orderId)?.status, 'accepted', 'the order went through the real producer');
  assert.deepEqual(external, [], 'Swagger UI loads nothing from outside');
});
