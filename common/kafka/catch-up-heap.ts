import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow past what survived its last full collection while history is read. Left to itself,
 * V8 sees the catch-up's allocation rate (about 180 000 messages a second, nearly all garbage at once) and lets the
 * heap grow several-fold before collecting: a service reading a full history peaked at 190–250 MB, though what it
 * keeps fits in a few tens. Kept tight for the whole run, the same setting costs 5–11 % more CPU per order
 * (docs/benchmarks-history.md), so it holds only until every reader has caught up.
 */
const CATCH_UP_HEAP_GROWTH_PERCENT = 30;

/**
 * Counts the readers catching up: the first one in tightens V8's heap growth, the last one out (caught up, or
 * stopped first) gives V8 back its default, a factor it chooses from the allocation rate and the collector's speed.
 */
export function heapGrowthWhileReading(setFlags: (flags: string) => void): (caughtUp: Promise<unknown>) => void {
  let readers = 0;
  return (caughtUp) => {
    if (readers++ === 0) setFlags(`--heap-growing-percent=${CATCH_UP_HEAP_GROWTH_PERCENT}`);
    const done = () => {
      if (--readers === 0) setFlags('--heap-growing-percent=0');
    };
    caughtUp.then(done, done);
  };
}

// An operator's own setting of the flag is left alone.
const setByOperator = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) =>
  arg.includes('heap-growing-percent'),
);

/** Keeps V8's heap growth tight from now until `caughtUp` settles, and until every other reader's has too. */
export const tightHeapUntil = setByOperator ? () => {} : heapGrowthWhileReading(setFlagsFromString);
