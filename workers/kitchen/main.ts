import { configOrExit, integer, loadConfig } from '../../common/config.ts';
import { delaysVariable, parseDelayChanges } from '../../common/restaurant/delays.ts';
import { runWorkerService, workerConfigSchema } from '../../common/service/process.ts';
import { historyWindow, historyWindowVariable } from '../../common/topics/index.ts';
import { createChefs } from './chefs.ts';
import { fencingVariable, followHandledOrders } from '../handled-orders.ts';
import { kitchenWorker } from './worker.ts';

const config = configOrExit(() =>
  loadConfig(
    {
      ...workerConfigSchema,
      ITUNA_DELAYS: delaysVariable,
      ITUNA_KITCHEN_CHEFS: integer(2, 1, 64),
      ITUNA_HISTORY_WINDOW: historyWindowVariable,
      ITUNA_KITCHEN_FENCING: fencingVariable,
    },
    process.env,
  ),
);
await runWorkerService('ituna-kitchen', config, async ({ kafka, log }) => {
  const cooked = await followHandledOrders(kafka, log, historyWindow(config.ITUNA_HISTORY_WINDOW), ['ready']);
  const kitchen = { chefs: createChefs(config.ITUNA_KITCHEN_CHEFS), delays: config.ITUNA_DELAYS, cooked };
  return {
    definition: kitchenWorker(kitchen, config.ITUNA_KITCHEN_FENCING),
    onSettings: (change) => {
      if (change.delays) Object.assign(kitchen.delays, parseDelayChanges(change.delays));
      if (change.kitchenChefs) kitchen.chefs.resize(change.kitchenChefs);
    },
    stop: () => cooked.stop(),
  };
});
