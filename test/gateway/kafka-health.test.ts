import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchBrokers } from '../../gateway/kafka-health.ts';

// The gateway's broker probe against a real listening socket standing in for a broker: what it connects, and when.
const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

/** A TCP listener on 127.0.0.1 that counts the connections it accepts. */
async function listener() {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { hostPort: `127.0.0.1:${(server.address() as AddressInfo).port}`, server, connections: () => connections };
}

// The slow timer is far slower than a probe takes, even on a loaded machine, so "at once" cannot be the slow timer.
const timing = { intervalMs: 20, idleIntervalMs: 2000, idleAfterMs: 100 };

it('Given a reachable broker, when someone keeps asking, then it is probed every interval; unasked, far less', async () => {
  const broker = await listener();
  const changes: boolean[] = [];
  const watch = await watchBrokers([broker.hostPort], (up) => changes.push(up), timing);
  try {
    assert.deepEqual(changes, [true], 'up from the first probe, before anyone asks');
    const asking = broker.connections();
    for (let i = 0; i < 20; i++) {
      assert.equal(watch.isUp(), true);
      await sleep(10);
    }
    const whileAsked = broker.connections() - asking;
    await sleep(timing.idleAfterMs + 50);
    const unasked = broker.connections();
    await sleep(600);
    const whileIdle = broker.connections() - unasked;
    assert.ok(whileAsked >= 4, `${whileAsked} probes in 200 ms of questions`);
    assert.ok(whileIdle <= 1, `${whileIdle} probes in 600 ms with nobody asking`);

    // The first question after a quiet spell probes at once instead of waiting for the slow timer.
    const before = broker.connections();
    const asked = performance.now();
    watch.isUp();
    while (broker.connections() === before && performance.now() - asked < 1000) await sleep(5);
    assert.equal(broker.connections(), before + 1, 'probed within a second of the question');
  } finally {
    watch.stop();
  }
});

it('Given a broker that goes away while nobody asks, then the first question after it gets the news within a probe', async () => {
  const broker = await listener();
  const changes: boolean[] = [];
  const watch = await watchBrokers([broker.hostPort], (up) => changes.push(up), timing);
  try {
    await sleep(timing.idleAfterMs + 50);
    await new Promise((resolve) => broker.server.close(resolve));
    // Still the answer of the last probe: nothing has looked since.
    assert.equal(watch.isUp(), true);
    const started = performance.now();
    while (watch.isUp() && performance.now() - started < 1000) await sleep(5);
    assert.equal(watch.isUp(), false);
    assert.deepEqual(changes, [true, false]);
    assert.ok(performance.now() - started < 1000, `the news took ${(performance.now() - started).toFixed(0)} ms`);
  } finally {
    watch.stop();
  }
});

it('Given several brokers, then it is up while any one of them accepts connections', async () => {
  const [first, second] = [await listener(), await listener()];
  const watch = await watchBrokers([first.hostPort, second.hostPort], () => {}, timing);
  try {
    assert.equal(watch.isUp(), true);
    await new Promise((resolve) => first.server.close(resolve));
    await sleep(3 * timing.intervalMs);
    assert.equal(watch.isUp(), true);
    await new Promise((resolve) => second.server.close(resolve));
    const started = performance.now();
    while (watch.isUp() && performance.now() - started < 1000) await sleep(5);
    assert.equal(watch.isUp(), false);
  } finally {
    watch.stop();
  }
});
