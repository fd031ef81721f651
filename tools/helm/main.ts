// npm run helm -- <helm arguments>: Helm v4 built from the Go module proxy (first time only), run on this repository.
// npm run helm -- --check: what CI checks of deploy/helm/ituna (lint, render, validate against Kubernetes' types).
// npm run helm -- --build-only: just build.
import { spawnSync } from 'node:child_process';
import { buildHelm, checkChart } from './build.ts';

const args = process.argv.slice(2);
try {
  const tools = await buildHelm();
  if (args[0] === '--check') {
    for (const line of checkChart(tools)) console.log(line);
  } else if (args[0] !== '--build-only') {
    const run = spawnSync(tools.helm, args, { stdio: 'inherit' });
    process.exitCode = run.status ?? 1;
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
