import { Module, createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Puts `exports` in the place of one of kafkajs's internal modules (`file`, resolved from here), for the kafkajs
 * module `loadedBy` that takes it when it first loads. A new entry in Node's module cache rather than new exports on
 * kafkajs's, so that a `require` hook that keeps the exports it first saw of a file (an instrumentation's, say) sees
 * the project's too. Returns false, changing nothing, when `loadedBy` is already loaded (it holds kafkajs's own then).
 */
export function replaceKafkajsModule(file: string, exports: unknown, loadedBy: string): boolean {
  if (require.cache[require.resolve(loadedBy)]) return false;
  const filename = require.resolve(file);
  const entry = new Module(filename);
  entry.filename = filename;
  entry.loaded = true;
  entry.exports = exports;
  require.cache[filename] = entry;
  return true;
}
