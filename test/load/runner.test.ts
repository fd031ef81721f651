import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { runLoad } from '../../load/runner.ts';

// A stand-in gateway that accepts every order: what is measured here is the client's arrivals, not a server.
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(202, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ orderId: crypto.randomUUID() }));
  });
});
let baseUrl: string;
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((resolve) => server.close(resolve)));

it('When the client is busy as the run ends, then it still sends every arrival due within the run', async () => {
  // The client's own work blocks its loop for 300 ms just before the end, as a busy client on shared cores does.
  const busy = setTimeout(() => {
    const until = performance.now() + 300;
    while (performance.now() < until);
  }, 850);
  const summary = await runLoad({
    baseUrl,
    scenario: { description: 'test', startRate: 200, stages: [{ seconds: 1, target: 200 }], maxInFlight: 1000 },
    runId: 'runner-test',
  });
  clearTimeout(busy);
  assert.equal(summary.skipped, 0);
  // 200 arrivals a second for a second; the last may fall a rounding short.
  assert.ok(summary.sent >= 199 && summary.sent <= 200, `sent ${summary.sent}`);
});

it("When the run's end falls on a clock value that rounds short, then the run still ends", {
  timeout: 10_000,
}, async () => {
  // A start from which 200 ms later, less the start, is a rounding short of 200 ms: a run that compares its elapsed
  // seconds with its duration never ends there.
  let start = 1000.1;
  while ((start + 200 - start) / 1000 >= 0.2) start += 0.013;
  const realNow = performance.now.bind(performance);
  const offset = start - realNow();
  performance.now = () => realNow() + offset;
  try {
    const summary = await runLoad({
      baseUrl,
      scenario: { description: 'test', startRate: 100, stages: [{ seconds: 0.2, target: 100 }], maxInFlight: 1000 },
      runId: 'runner-rounding-test',
    });
    assert.ok(summary.sent >= 19 && summary.sent <= 20, `sent ${summary.sent}`);
  } finally {
    performance.now = realNow;
  }
});
