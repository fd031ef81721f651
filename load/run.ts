import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { judge, runLoad } from './runner.ts';
import { scenarios, thresholdsOf } from './scenarios.js';

// `npm run load -- <steady|ramp|spike> [--url http://127.0.0.1:3000] [--run-id id] [--scale 0.5]`: the k6 scenarios, driven from Node.
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    'run-id': { type: 'string' },
    scale: { type: 'string', default: '1' },
  },
});
const name = positionals[0] ?? '';
const scale = Number(values.scale);
const defined = scenarios[name];
if (!defined || !(scale > 0 && scale <= 10)) {
  console.error(
    `usage: npm run load -- <${Object.keys(scenarios).join('|')}> [--url URL] [--run-id ID] [--scale 0.1–10 (stretches or shortens the stages)]`,
  );
  process.exit(2);
}
const scenario = { ...defined, stages: defined.stages.map((s) => ({ ...s, seconds: s.seconds * scale })) };
const runId = values['run-id'] ?? `${name}-${randomBytes(4).toString('hex')}`;
const token = process.env.ITUNA_MANAGEMENT_TOKEN || process.env.ITUNA_DIRECT_ORDER_TOKEN || undefined;
console.error(
  `run ${runId}: ${name} — ${scenario.description}${token ? '' : ' (no ITUNA_MANAGEMENT_TOKEN: direct orders left out)'}`,
);

const summary = await runLoad({
  baseUrl: values.url!,
  scenario,
  runId,
  token,
  onProgress: (line) => process.stderr.write(`\r${line}   `),
});
const { latency } = summary;
console.log(`\nrun id: ${summary.runId}`);
console.log(
  `requests: ${summary.sent} in ${summary.seconds.toFixed(1)} s; by status: ${JSON.stringify(summary.byStatus)}${summary.skipped ? `; ${summary.skipped} arrivals skipped (client at maxInFlight)` : ''}`,
);
console.log(
  `latency: p50 ${latency.p50.toFixed(1)} ms  p95 ${latency.p95.toFixed(1)} ms  p99 ${latency.p99.toFixed(1)} ms  max ${latency.max.toFixed(1)} ms`,
);
// The scenario's thresholds, as k6 applies them: a crossed one fails the run (k6's exit code for it, 99).
const results = judge(summary, thresholdsOf(scenario));
for (const r of results)
  console.log(
    `${r.ok ? '✓' : '✗'} ${r.metric} ${r.limit}: ${r.metric === 'checks' || r.metric === 'http_req_failed' ? r.value.toFixed(4) : r.value.toFixed(1)}`,
  );
console.log(`next: npm run bottlenecks -- --run ${summary.runId}`);
const crossed = results.filter((r) => !r.ok);
if (crossed.length > 0) {
  console.error(`thresholds crossed: ${crossed.map((r) => `${r.metric} ${r.limit}`).join(', ')}`);
  process.exitCode = 99;
}
