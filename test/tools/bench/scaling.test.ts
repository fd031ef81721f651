import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backlogPerPartition, renderScaling, scalingRound } from '../../../tools/bench/scaling.ts';
import type { GroupLag, GroupMember } from '../../../tools/traces/consumer-groups.ts';

// `npm run bench:scaling` takes over a minute (a broker, then up to seven worker processes), too long for the suite:
// these are its pieces. Reading a group's owners and idle members from Kafka is tested in test/report/consumer-groups.test.ts.
const member = (id: string, partitions: number[]): GroupMember => ({
  memberId: `ituna-order-validation-${id}`,
  clientId: 'ituna-order-validation',
  host: '127.0.0.1',
  partitions,
});

/** A stable group of `members` on six partitions, as readConsumerGroups returns it. */
function group(members: GroupMember[]): GroupLag {
  const partitions = [0, 1, 2, 3, 4, 5].map((partition) => {
    const owner = members.find((m) => m.partitions.includes(partition));
    return { partition, committed: 100, start: 0, end: 1200, lag: 1100, fromStart: false, ...(owner ? { owner } : {}) };
  });
  const idle = members.filter((m) => m.partitions.length === 0);
  return {
    groupId: 'ituna-order-validation',
    topic: 'orders.placed',
    state: 'Stable',
    members,
    partitions,
    idle,
    lag: 6600,
    missingTopic: false,
  };
}

const one = group([member('aaaaaaaa-1111', [0, 1, 2, 3, 4, 5])]);
const seven = group([
  ...[0, 1, 2, 3, 4, 5].map((p) => member(`${p}${p}${p}${p}${p}${p}${p}${p}-2222`, [p])),
  member('7e7e7e7e-3333', []),
]);

describe('the scaling measurement, piece by piece', () => {
  it('When a round is counted, then its rate is the orders handled over the window, with each half beside it', () => {
    const round = scalingRound(
      1,
      [
        { at: 1000, handled: 500 },
        { at: 6000, handled: 550 },
        { at: 11_000, handled: 596 },
      ],
      one,
      one,
    );
    assert.equal(round.ordersPerSecond, 9.6);
    assert.deepEqual(round.halves, [10, 9.2]);
    assert.equal(round.rebalanced, false);
    assert.equal(round.unsteady, false);
  });

  it("When a window's halves differ by more than 15 %, then the round is marked unsteady, in the table too", () => {
    const round = scalingRound(
      1,
      [
        { at: 0, handled: 0 },
        { at: 5000, handled: 38 },
        { at: 10_000, handled: 67 },
      ],
      one,
      one,
    );
    assert.equal(round.unsteady, true);
    assert.match(
      renderScaling({ rounds: [round], partitions: 6, brokers: '127.0.0.1:9092', ranDry: [] }),
      /^\| 1 \| 6\.7 \(halves 7\.6, 5\.8\), unsteady \|/m,
    );
  });

  it('When the members change during the window, then the round says it straddles a rebalance', () => {
    const samples = [
      { at: 0, handled: 0 },
      { at: 5000, handled: 50 },
      { at: 10_000, handled: 100 },
    ];
    assert.equal(scalingRound(7, samples, one, seven).rebalanced, true);
    assert.equal(scalingRound(7, samples, seven, { ...seven, state: 'PreparingRebalance' }).rebalanced, true);
  });

  it("When the rounds are printed, then each count has its rate, its ratio to one worker beside the ideal, its rate per worker that has partitions, its partitions per member and its idle members, then the last group's owners", () => {
    const rounds = [
      scalingRound(
        1,
        [
          { at: 0, handled: 0 },
          { at: 5000, handled: 48 },
          { at: 10_000, handled: 96 },
        ],
        one,
        one,
      ),
      scalingRound(
        7,
        [
          { at: 0, handled: 0 },
          { at: 5000, handled: 285 },
          { at: 10_000, handled: 570 },
        ],
        seven,
        seven,
      ),
    ];
    const text = renderScaling({ rounds, partitions: 6, brokers: '127.0.0.1:9092', ranDry: [] });
    const lines = text.split('\n');
    assert.equal(
      lines[0],
      '| validation workers | orders/s validated | × 1 worker | orders/s per busy worker | partitions per member | idle members |',
    );
    assert.equal(lines[2], '| 1 | 9.6 (halves 9.6, 9.6) | 1.00× (ideal 1×) | 9.6 | 6 | — |');
    assert.equal(
      lines[3],
      '| 7 | 57.0 (halves 57.0, 57.0) | 5.94× (ideal 6×) | 9.5 | 1, 1, 1, 1, 1, 1, 0 | 1: member 7e7e7e7e |',
    );
    assert.match(text, /^With 7 workers, at the end of the window:$/m);
    assert.match(
      text,
      /^ituna-order-validation on orders\.placed: 7 members for 6 partitions: more members than partitions; lag 6600 messages$/m,
    );
    assert.match(text, /^5 +100 +1200 +1100 +ituna-order-validation +127\.0\.0\.1 +55555555$/m);
    assert.match(text, /^ {2}ituna-order-validation at 127\.0\.0\.1, member 7e7e7e7e$/m);
    assert.doesNotMatch(text, /ran out of orders/);
    assert.match(
      renderScaling({ rounds, partitions: 6, brokers: '127.0.0.1:9092', ranDry: [3] }),
      /^Partitions 3 ran out of orders: their rounds measured the offer, not the capacity\.$/m,
    );
  });

  it('When the backlog is sized, then no partition runs dry even if one worker drained it alone through every round', () => {
    const options = { counts: [1, 2, 3, 7], windowMs: 10_000, workMs: 100 };
    const perPartition = backlogPerPartition(options);
    // A worker handles at most 1000 / workMs orders a second; a round lasts its window plus start-up and settling.
    const worstCase = (1000 / options.workMs) * ((options.windowMs + 15_000) / 1000) * options.counts.length;
    assert.ok(perPartition >= worstCase, `${perPartition} orders a partition, worst case ${worstCase}`);
    assert.ok(perPartition * 6 <= 10_000, 'and the backlog stays small enough to place in a second or two');
  });
});
