import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';

// `npm run test:fuzz`: schemathesis, every check, against a gateway on a broker of its own. The gateway alone suffices:
// the API answers 202 once Kafka has an order, whether or not a worker ever reads it.
const SCHEMATHESIS_VERSION = '4.32.0';
const { values } = parseArgs({
  options: { 'max-examples': { type: 'string', default: '100' }, seed: { type: 'string', default: '20261125' } },
});
const root = join(import.meta.dirname, '..', '..');
const venv = join(root, '.cache', 'venv');
const schemathesis = join(venv, 'bin', 'schemathesis');
const say = (line: string) => process.stderr.write(`[fuzz] ${line}\n`);
const TOKEN = 'fuzz-management-token';

function installedVersion(): string | undefined {
  if (!existsSync(schemathesis)) return undefined;
  return /version (\S+)/.exec(spawnSync(schemathesis, ['--version'], { encoding: 'utf8' }).stdout)?.[1];
}

if (installedVersion() !== SCHEMATHESIS_VERSION) {
  say(`installing schemathesis ${SCHEMATHESIS_VERSION} from PyPI into .cache/venv (first run only)…`);
  for (const [command, args] of [
    ['python3', ['-m', 'venv', '--clear', venv]],
    [join(venv, 'bin', 'pip'), ['install', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`]],
  ] as const) {
    const result = spawnSync(command, args, { stdio: 'inherit' });
    if (result.status !== 0) {
      say(
        `${command} ${args.join(' ')} failed${result.error ? `: ${result.error.message}` : ''} (Python 3.10+ with venv is needed)`,
      );
      process.exit(1);
    }
  }
}

say('starting a Kafka broker and the gateway…');
const broker = await startLocalBroker();
const gateway = spawnService('gateway', {
  KAFKA_BROKERS: broker.brokers,
  PORT: '0',
  OTEL_SDK_DISABLED: 'true',
  ITUNA_MANAGEMENT_TOKEN: TOKEN,
  // Thousands of generated orders from one client: the rate limit would answer most of them 429.
  ITUNA_ORDERS_PER_MINUTE: '0',
  LOG_LEVEL: 'info',
});
let exitCode = 1;
try {
  const url = (await gateway.ready)!;
  say(
    `gateway on ${url}; schemathesis ${SCHEMATHESIS_VERSION} with --checks all, ${values['max-examples']} examples per operation`,
  );
  const run = spawn(
    schemathesis,
    [
      '--config-file',
      join(import.meta.dirname, 'schemathesis.toml'),
      'run',
      `${url}/docs/json`,
      '--url',
      url,
      '--checks',
      'all',
      '--max-examples',
      values['max-examples']!,
      '--seed',
      values.seed!,
      '--workers',
      '1',
      '--header',
      `Authorization: Bearer ${TOKEN}`,
    ],
    { stdio: 'inherit', env: { ...process.env, NO_COLOR: process.stdout.isTTY ? '' : '1' } },
  );
  const [code] = await once(run, 'exit');
  exitCode = code ?? 1;
} catch (error) {
  say((error as Error).message);
} finally {
  await gateway.stop();
  await broker.stop();
}
say(exitCode === 0 ? 'no failures, no schema errors' : `schemathesis exited ${exitCode}`);
process.exit(exitCode);
