import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

// Loaded before the quick tier's tests (test/run.ts): they all run in one process and must start no other. A test that
// does belongs to the full tier, which test/support/tiers.ts finds by its imports; this catches what the imports hide.
const refuse = (name: string) => () => {
  throw new Error(
    `child_process.${name} in the quick tier: a test that starts processes runs in the full tier (import node:child_process where it spawns, so test/support/tiers.ts sees it)`,
  );
};
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
  Object.assign(childProcess, { [name]: refuse(name) });
}
syncBuiltinESMExports();
