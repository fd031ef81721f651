import { parseArgs } from 'node:util';
import { createKafka, ensureTopics, untilKafkaAnswers } from '../../common/kafka/client.ts';
import { createLogger } from '../../common/logger.ts';
import { ALL_TOPICS } from '../../common/topics/index.ts';
import { startLocalBroker } from '../local-kafka/cluster.ts';
import { exitOnProblems, startReceiver, wholeNumberProblem } from './measure.ts';
import { measureScaling, renderScaling } from './scaling.ts';

// `npm run bench:scaling [-- --workers 1,2,3,7] [--seconds 10] [--work-ms 100]`: how validation scales out with its
// worker processes, up to and past the partition count of orders.placed.
const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,3,7' },
    seconds: { type: 'string', default: '10' },
    'work-ms': { type: 'string', default: '100' },
  },
});
const counts = values.workers.split(',').map(Number);
const [seconds, workMs] = [Number(values.seconds), Number(values['work-ms'])];
exitOnProblems([
  ...(counts.every((n, i) => Number.isInteger(n) && n >= 1 && n <= 12 && (i === 0 || n > counts[i - 1]!))
    ? []
    : ['--workers must be ascending whole numbers from 1 to 12, e.g. 1,2,3,7']),
  ...wholeNumberProblem('seconds', seconds, 2, 60),
  ...wholeNumberProblem('work-ms', workMs, 20, 1000),
]);

const started = performance.now();
const say = (line: string) =>
  process.stderr.write(`[scaling ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
const broker = await startLocalBroker();
// Spans go to a counting sink in its own process: the workers run traced, as they do in production.
const sink = await startReceiver('count');
try {
  say(
    `broker ${broker.brokers}; validation workers ${counts.join(', ')}, one order at a time, ${workMs} ms of simulated work each; ${seconds} s windows`,
  );
  const kafka = createKafka('bench-scaling', [broker.brokers], createLogger('bench', 'warn'));
  await untilKafkaAnswers('creating the topics', () => ensureTopics(kafka, ALL_TOPICS), { limitMs: 30_000 });
  const result = await measureScaling({
    kafka,
    brokers: broker.brokers,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url },
    counts,
    windowMs: seconds * 1000,
    workMs,
    say,
  });
  say('done');
  console.log(renderScaling(result));
} finally {
  await sink.stop();
  await broker.stop();
}
