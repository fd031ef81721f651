import { it } from 'node:test';
import { chaosUnderLoad } from './pipeline-chaos.ts';

it(
  'When workers are SIGKILLed and the broker restarts under load, then no accepted order is lost and none is cooked twice',
  {
    timeout: 540_000,
  },
  (t) => chaosUnderLoad(t, { brokerDownMs: 3000 }),
);
