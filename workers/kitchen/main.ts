import { configOrExit, integer, loadConfig } from '../../common/config.ts';
import { delaysVariable } from '../../common/delays.ts';
import { serviceConfigSchema, startWorkerProcess } from '../../common/service.ts';
import { kitchenWorker } from './handle.ts';

const config = configOrExit(() =>
  loadConfig({ ...serviceConfigSchema, ITUNA_DELAYS: delaysVariable, ITUNA_KITCHEN_CHEFS: integer(2, 1, 64) }, process.env),
);
await startWorkerProcess('ituna-kitchen', config, kitchenWorker(config.ITUNA_KITCHEN_CHEFS, config.ITUNA_DELAYS.cook));
