import { configOrExit, integer, loadConfig } from '../../common/config.ts';
import { delaysVariable } from '../../common/delays.ts';
import { serviceConfigSchema, startWorkerProcess } from '../../common/service.ts';
import { validationWorker } from './handle.ts';

const config = configOrExit(() =>
  loadConfig({ ...serviceConfigSchema, ITUNA_DELAYS: delaysVariable, ITUNA_VALIDATION_CONCURRENCY: integer(3, 1, 64) }, process.env),
);
await startWorkerProcess('ituna-order-validation', config, validationWorker(config.ITUNA_DELAYS, config.ITUNA_VALIDATION_CONCURRENCY));
