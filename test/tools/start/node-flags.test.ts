import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { parse } from 'yaml';
import { serviceCommand, SERVICE_ENV } from '../../../tools/start/spawn-service.ts';
import type { ServiceName } from '../../../tools/start/spawn-service.ts';

// Every way a service starts runs the same Node flags: the launcher's list is the one the others must match.
const root = new URL('../../../', import.meta.url).pathname;
const text = (file: string) => readFile(`${root}${file}`, 'utf8');
const NPM_SCRIPTS: Record<string, ServiceName> = {
  gateway: 'gateway',
  'worker:validation': 'validation',
  'worker:kitchen': 'kitchen',
};

it("When the npm scripts start a service, then they run the launcher's Node flags and environment", async () => {
  const { scripts } = JSON.parse(await text('package.json')) as { scripts: Record<string, string> };
  for (const [script, service] of Object.entries(NPM_SCRIPTS)) {
    const words = scripts[script]!.split(/\s+/);
    const node = words.indexOf('node');
    assert.deepEqual(words.slice(node), ['node', ...serviceCommand(service)], `npm run ${script}`);
    for (const [name, value] of Object.entries(SERVICE_ENV))
      assert.ok(words.slice(0, node).includes(`${name}=\${${name}:-${value}}`), `npm run ${script} sets ${name}`);
  }
});

it('When the Dockerfile and docker-compose.yml start a service, then they run the same flags and environment', async () => {
  const dockerfile = await text('Dockerfile');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
  assert.deepEqual(cmd, ['node', ...serviceCommand('gateway')]);
  for (const [name, value] of Object.entries(SERVICE_ENV))
    assert.match(dockerfile, new RegExp(`^ENV ${name}=${value}$`, 'm'));
  const compose = parse(await text('docker-compose.yml')) as { services: Record<string, { command?: string[] }> };
  for (const service of ['gateway', 'validation', 'kitchen'] as const) {
    assert.deepEqual(
      compose.services[service]!.command,
      ['node', ...serviceCommand(service)],
      `compose service ${service}`,
    );
  }
});
