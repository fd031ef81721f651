import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { generateOpenApi } from '../../gateway/openapi.ts';
import { OnlineOrderRequest, OnsiteOrderRequest, DirectOrderRequest } from '../../gateway/schemas.ts';
import { checkAddress, checkInventory, checkName } from '../../workers/validation/checks.ts';

it('When the routes change, then the committed openapi/openapi.json must be regenerated (npm run openapi)', async () => {
  const committed = await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8');
  assert.equal(
    committed,
    await generateOpenApi(),
    'openapi/openapi.json is stale: run `npm run openapi` and commit it',
  );
});

it('When the spec is read, then it is OpenAPI 3 with every route of the contract', async () => {
  const spec = JSON.parse(await generateOpenApi());
  assert.match(spec.openapi, /^3\./);
  assert.deepEqual(Object.keys(spec.paths).sort(), [
    '/admin/settings',
    '/healthz',
    '/menu',
    '/orders/direct',
    '/orders/online',
    '/orders/onsite',
    '/orders/{id}',
    '/readyz',
  ]);
  assert.deepEqual(spec.paths['/orders/direct'].post.security, [{ managementToken: [] }]);
});

it('When Swagger UI tries an example as it stands, then it is a valid order the kitchen will cook', () => {
  for (const schema of [OnlineOrderRequest, OnsiteOrderRequest, DirectOrderRequest] as TSchema[]) {
    const example = (schema as { examples: Array<Record<string, any>> }).examples[0]!;
    assert.ok(Compile(schema).Check(example));
    assert.equal(checkInventory(example.items).result, 'passed');
    if (example.customerName) assert.equal(checkName(example.customerName).result, 'passed');
    if (example.deliveryAddress) assert.equal(checkAddress('online', example.deliveryAddress).result, 'passed');
  }
});
