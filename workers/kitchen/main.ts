import { configOrExit, integer, loadConfig } from '../../common/config.ts';
import { delaysVariable, parseDelayChanges } from '../../common/delays.ts';
import { serviceConfigSchema, startWorkerProcess } from '../../common/service.ts';
import { createChefs } from './chefs.ts';
import { kitchenWorker } from './handle.ts';
import { followReadyOrders } from './ready-orders.ts';

const config = configOrExit(() =>
  loadConfig({ ...serviceConfigSchema, ITUNA_DELAYS: delaysVariable, ITUNA_KITCHEN_CHEFS: integer(2, 1, 64) }, process.env),
);
await startWorkerProcess('ituna-kitchen', config, async ({ kafka, log }) => {
  const cooked = await followReadyOrders(kafka, log);
  const kitchen = { chefs: createChefs(config.ITUNA_KITCHEN_CHEFS), delays: config.ITUNA_DELAYS, cooked };
  return {
    definition: kitchenWorker(kitchen),
    onControl: (change) => {
      if (change.delays) Object.assign(kitchen.delays, parseDelayChanges(change.delays));
      if (change.kitchenChefs) kitchen.chefs.resize(change.kitchenChefs);
    },
    stop: () => cooked.stop(),
  };
});
