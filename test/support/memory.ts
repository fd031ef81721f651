import { Worker } from 'node:worker_threads';

// In a worker thread of its own, so that nothing else counts: the quick tier runs many test files in one process, and
// what they allocate and collect on the main thread's heap meanwhile once made a full order history read -50 MB.
const MEASURE = `(async () => {
  const { parentPort, workerData } = require('node:worker_threads');
  const { getHeapStatistics, setFlagsFromString } = require('node:v8');
  const { runInNewContext } = require('node:vm');
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc');
  const used = () => {
    const heap = getHeapStatistics();
    return heap.used_heap_size + heap.external_memory;
  };
  const build = (await import(workerData.module))[workerData.name];
  collect();
  const before = used();
  const value = build();
  collect();
  parentPort.postMessage({ mb: (used() - before) / 1e6, size: value.size });
})();
`;

/**
 * What the value that `name` (an export of `module`, called without arguments) builds keeps alive, in MB of heap and
 * array buffers, measured between full collections in a worker thread; with the value's `size`.
 */
export async function retainedMb(module: URL, name: string): Promise<{ mb: number; size: number }> {
  const worker = new Worker(MEASURE, { eval: true, workerData: { module: module.href, name } });
  try {
    return await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the measuring thread exited with ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}
