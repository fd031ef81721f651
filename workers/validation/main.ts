import { configOrExit, integer, loadConfig } from '../../common/config.ts';
import { delaysVariable, parseDelayChanges } from '../../common/restaurant/delays.ts';
import { serviceConfigSchema, runWorkerService } from '../../common/service/process.ts';
import { validationWorker } from './worker.ts';

const config = configOrExit(() =>
  loadConfig(
    { ...serviceConfigSchema, ITUNA_DELAYS: delaysVariable, ITUNA_VALIDATION_CONCURRENCY: integer(3, 1, 64) },
    process.env,
  ),
);
const delays = config.ITUNA_DELAYS;
await runWorkerService('ituna-order-validation', config, async () => ({
  definition: validationWorker(delays, config.ITUNA_VALIDATION_CONCURRENCY),
  onSettings: (change) => {
    if (change.delays) Object.assign(delays, parseDelayChanges(change.delays));
  },
}));
