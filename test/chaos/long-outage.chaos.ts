import { it } from 'node:test';
import { chaosUnderLoad } from './pipeline-chaos.ts';

// The chaos test with the broker down 12 s, longer than kafkajs retries a send (about 9 s): sends fail that the broker
// may have written all the same, and each publisher that had one in flight starts again with a new producer id (the
// report counts them). Too long for `npm test`, which has the 3 s outage.
it(
  'When the broker is down longer than a send is retried, under load and with workers SIGKILLed, then no accepted order is lost and none is cooked twice',
  {
    timeout: 540_000,
  },
  (t) => chaosUnderLoad(t, { brokerDownMs: 12_000 }),
);
