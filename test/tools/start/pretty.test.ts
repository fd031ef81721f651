import assert from 'node:assert/strict';
import { it } from 'node:test';
import { prettyLine } from '../../../tools/start/pretty.ts';

const line = JSON.stringify({
  level: 30,
  time: '2026-11-25T18:00:01.234Z',
  service: 'ituna-gateway',
  orderId: 'o-1',
  note: 'two words',
  msg: 'order accepted',
});

it('When a pino line is shown on a terminal, then it reads time, level, service, message and the other fields', () => {
  assert.equal(
    prettyLine(line, false),
    '18:00:01.234 INFO  ituna-gateway order accepted  orderId=o-1 note="two words"',
  );
});

it('When colours are on, then the level is coloured; when the line is not pino JSON, then it is shown as it is', () => {
  assert.ok(prettyLine(line, true).includes('\u001b[32mINFO \u001b[39m'));
  assert.equal(prettyLine('[ituna] ready', true), '[ituna] ready');
  assert.equal(prettyLine('{"not":"pino"}', true), '{"not":"pino"}');
});

it('When an error is logged, then its type and message follow the message, and its stack the line', () => {
  const error = JSON.stringify({
    level: 50,
    time: '2026-11-25T18:00:01.234Z',
    service: 'ituna-kitchen',
    msg: 'request failed',
    err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' },
  });
  assert.equal(
    prettyLine(error, false),
    '18:00:01.234 ERROR ituna-kitchen request failed  err=Error: boom\nError: boom\n    at x',
  );
});
