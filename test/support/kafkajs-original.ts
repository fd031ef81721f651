import { readFileSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The exports of one of kafkajs's own modules (`file`), compiled from its file apart from Node's module cache, where
 * the project may have put its own in kafkajs's place (common/kafka/kafkajs-module.ts): what the project's is held to.
 */
export function kafkajsOriginal<T>(file: string): T {
  const filename = require.resolve(file);
  const original = new Module(filename) as Module & { _compile(code: string, filename: string): void };
  original.filename = filename;
  original.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
    dirname(filename),
  );
  original._compile(readFileSync(filename, 'utf8'), filename);
  return original.exports as T;
}
