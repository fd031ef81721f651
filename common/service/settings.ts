import type { Kafka } from 'kafkajs';
import { FOLLOWER_IDLE_FETCH } from '../kafka/client.ts';
import { followTopic } from '../kafka/follower.ts';
import type { Follower } from '../kafka/follower.ts';
import type { Logger } from '../logger.ts';
import { controlTopic } from '../topics/control.ts';
import type { ControlChange } from '../topics/control.ts';

/**
 * Follows `ituna.control` from now on: a change made while the pipeline runs reaches every running worker; a worker
 * that starts later begins from its environment. Resolves once the follower has joined, so no later change is missed.
 */
export async function followSettings(
  kafka: Kafka,
  log: Logger,
  apply: (change: ControlChange) => void,
): Promise<Follower> {
  return followTopic(kafka, controlTopic, {
    from: 'end',
    fetchWait: FOLLOWER_IDLE_FETCH,
    log,
    onMessage: (change) => {
      apply(change);
      log.info({ change }, 'settings changed');
    },
    onInvalid: (error) => log.warn({ err: error }, 'ignored a control message that could not be applied'),
  });
}
