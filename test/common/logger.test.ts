import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLogger } from '../../common/logger.ts';

/** A logger writing into an array, one parsed line each, with the raw lines beside them. */
function capture() {
  const raw: string[] = [];
  const log = createLogger('test', 'info', { write: (line: string) => void raw.push(line) });
  return { log, raw, lines: () => raw.map((line) => JSON.parse(line)) };
}

const TOKEN = 'Bearer s3cret-management-token';

it('never writes a credential, wherever a logged object carries it', () => {
  const { log, raw, lines } = capture();
  log.info({ headers: { authorization: TOKEN, host: 'gateway' } }, 'top level');
  log.info({ req: { method: 'PUT', headers: { Authorization: TOKEN } } }, 'one level down');
  log.child({ request: 7 }).warn({ upstream: { calls: [{ headers: { authorization: TOKEN } }] } }, 'in an array');
  log.info({ authorization: TOKEN }, 'on its own');
  assert.equal(raw.length, 4);
  for (const line of raw) {
    assert.ok(!line.includes('s3cret'), line);
    assert.ok(line.endsWith('}\n'), 'one JSON line each');
  }
  const [top, nested, inArray, alone] = lines();
  assert.deepEqual(top.headers, { authorization: '[redacted]', host: 'gateway' });
  assert.deepEqual(nested.req, { method: 'PUT', headers: { Authorization: '[redacted]' } });
  assert.deepEqual(inArray.upstream.calls, [{ headers: { authorization: '[redacted]' } }]);
  assert.equal(inArray.request, 7);
  assert.equal(inArray.msg, 'in an array');
  assert.equal(alone.authorization, '[redacted]');
});

it('writes every other line as pino made it', () => {
  const { log, lines } = capture();
  log.info({ orderId: 'ord_1', note: 'authorization checked' }, 'the word in a value is not a field');
  const [line] = lines();
  assert.equal(line.note, 'authorization checked');
  assert.equal(line.orderId, 'ord_1');
  assert.equal(line.service, 'test');
  assert.equal(line.level, 30);
});
