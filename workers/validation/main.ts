import { configOrExit, integer, loadConfig } from '../../common/config.ts';
import { delaysVariable, parseDelayChanges } from '../../common/restaurant/delays.ts';
import { runWorkerService, workerConfigSchema } from '../../common/service/process.ts';
import { historyWindow, historyWindowVariable } from '../../common/topics/index.ts';
import { fencingVariable, followHandledOrders } from '../handled-orders.ts';
import { validationWorker } from './worker.ts';

const config = configOrExit(() =>
  loadConfig(
    {
      ...workerConfigSchema,
      ITUNA_DELAYS: delaysVariable,
      ITUNA_VALIDATION_CONCURRENCY: integer(3, 1, 64),
      ITUNA_HISTORY_WINDOW: historyWindowVariable,
      ITUNA_VALIDATION_FENCING: fencingVariable,
    },
    process.env,
  ),
);
const delays = config.ITUNA_DELAYS;
await runWorkerService('ituna-order-validation', config, async ({ kafka, log }) => {
  const window = historyWindow(config.ITUNA_HISTORY_WINDOW);
  const decided = await followHandledOrders(kafka, log, window, ['validated', 'rejected']);
  return {
    definition: validationWorker(delays, config.ITUNA_VALIDATION_CONCURRENCY, decided, config.ITUNA_VALIDATION_FENCING),
    onSettings: (change) => {
      if (change.delays) Object.assign(delays, parseDelayChanges(change.delays));
    },
    stop: () => decided.stop(),
  };
});
