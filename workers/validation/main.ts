import { configOrExit, integer, loadConfig } from '../../common/config.ts';
import { delaysVariable, parseDelayChanges } from '../../common/delays.ts';
import { serviceConfigSchema, startWorkerProcess } from '../../common/service.ts';
import { validationWorker } from './handle.ts';

const config = configOrExit(() =>
  loadConfig({ ...serviceConfigSchema, ITUNA_DELAYS: delaysVariable, ITUNA_VALIDATION_CONCURRENCY: integer(3, 1, 64) }, process.env),
);
const delays = config.ITUNA_DELAYS;
await startWorkerProcess('ituna-order-validation', config, async () => ({
  definition: validationWorker(delays, config.ITUNA_VALIDATION_CONCURRENCY),
  onControl: (change) => {
    if (change.delays) Object.assign(delays, parseDelayChanges(change.delays));
  },
}));
