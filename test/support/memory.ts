import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What `build`'s result keeps alive, in MB of heap and array buffers, measured between full collections. */
export function retainedMb<T>(build: () => T): { value: T; mb: number } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage();
  const value = build();
  gc();
  const after = process.memoryUsage();
  return { value, mb: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 1e6 };
}
