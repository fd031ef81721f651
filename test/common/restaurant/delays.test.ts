import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DELAYS, drawDelay, parseDelays } from '../../../common/restaurant/delays.ts';
import { loadConfig } from '../../../common/config.ts';
import { delaysVariable } from '../../../common/restaurant/delays.ts';

describe('ITUNA_DELAYS', () => {
  it('When stages are given with and without jitter, then each is read and the others take no time', () => {
    assert.deepEqual(parseDelays('address=20,inventory=150~50'), {
      address: { ms: 20, jitterMs: 0 },
      name: { ms: 0, jitterMs: 0 },
      inventory: { ms: 150, jitterMs: 50 },
      cook: { ms: 0, jitterMs: 0 },
    });
  });

  it('When unset, then the default makes cooking the slowest stage', () => {
    const delays = loadConfig({ ITUNA_DELAYS: delaysVariable }, {}).ITUNA_DELAYS;
    assert.deepEqual(delays, parseDelays(DEFAULT_DELAYS));
    const slowest = Object.entries(delays).sort((a, b) => b[1].ms - a[1].ms)[0]![0];
    assert.equal(slowest, 'cook');
  });

  it('When a stage is unknown or malformed, then the error lists the stages', () => {
    assert.throws(
      () => loadConfig({ ITUNA_DELAYS: delaysVariable }, { ITUNA_DELAYS: 'oven=5' }),
      /ITUNA_DELAYS must be comma-separated stage=ms.*address, name, inventory, cook; "oven=5" is not/,
    );
    assert.throws(() => parseDelays('cook=fast'), /"cook=fast" is not/);
    assert.throws(() => parseDelays('cook=10~20'), /jitter at most ms/);
  });

  it('When jitter is drawn, then the delay stays within ms ± jitter', () => {
    assert.equal(
      drawDelay({ ms: 100, jitterMs: 50 }, () => 0),
      50,
    );
    assert.equal(
      drawDelay({ ms: 100, jitterMs: 50 }, () => 0.5),
      100,
    );
    assert.equal(
      drawDelay({ ms: 100, jitterMs: 50 }, () => 0.999999),
      150,
    );
    assert.equal(drawDelay({ ms: 0, jitterMs: 0 }), 0);
  });
});
