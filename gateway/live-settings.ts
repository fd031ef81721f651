import type { Kafka } from 'kafkajs';
import { followTopic } from '../common/kafka/follower.ts';
import type { Follower } from '../common/kafka/follower.ts';
import type { Logger } from '../common/logger.ts';
import { DELAY_STAGES, parseDelayChanges } from '../common/restaurant/delays.ts';
import type { Delay, DelayStage } from '../common/restaurant/delays.ts';
import { controlTopic } from '../common/topics/index.ts';
import type { ControlChange } from '../common/topics/index.ts';

/** Each setting changed through `ituna.control`: its latest value and when that change was made. */
interface SettingsSnapshot {
  delays: Partial<Record<DelayStage, Delay & { at: string }>>;
  kitchenChefs?: { value: number; at: string };
}

/** The settings as the changes on `ituna.control` left them, newest per setting. */
export interface LiveSettings {
  apply(change: ControlChange): void;
  snapshot(): SettingsSnapshot;
}

/** An in-memory view of the settings; a change older than the one already held for a setting is ignored. */
export function createLiveSettings(): LiveSettings {
  const delays: SettingsSnapshot['delays'] = {};
  let kitchenChefs: SettingsSnapshot['kitchenChefs'];
  return {
    apply(change) {
      if (change.delays) {
        // The gateway checked the syntax before publishing; a change it cannot read says nothing about the stages.
        let parsed: ReturnType<typeof parseDelayChanges>;
        try {
          parsed = parseDelayChanges(change.delays);
        } catch {
          return;
        }
        for (const stage of DELAY_STAGES) {
          const delay = parsed[stage];
          if (delay && !(delays[stage] && delays[stage].at > change.at)) delays[stage] = { ...delay, at: change.at };
        }
      }
      if (change.kitchenChefs !== undefined && !(kitchenChefs && kitchenChefs.at > change.at)) {
        kitchenChefs = { value: change.kitchenChefs, at: change.at };
      }
    },
    snapshot: () => ({
      delays: structuredClone(delays),
      ...(kitchenChefs ? { kitchenChefs: { ...kitchenChefs } } : {}),
    }),
  };
}

/**
 * Keeps `settings` up to date from `ituna.control`, from its first message: what GET /admin/settings answers on
 * every gateway replica. Resolves once it has caught up with the topic.
 */
export async function followLiveSettings(kafka: Kafka, log: Logger, settings: LiveSettings): Promise<Follower> {
  const follower = await followTopic(kafka, controlTopic, { log, onMessage: (change) => settings.apply(change) });
  await follower.caughtUp;
  return follower;
}
