import { buildApp } from './app.ts';
import { createLiveSettings } from './live-settings.ts';
import { createOrderHistory } from './order-history.ts';

/** The OpenAPI document as the routes declare it, built without Kafka (nothing is published while generating). */
export async function generateOpenApi(): Promise<string> {
  const app = await buildApp({
    publish: async () => {
      throw new Error('the OpenAPI generator publishes nothing');
    },
    orders: createOrderHistory(),
    settings: createLiveSettings(),
    isReady: () => false,
  });
  await app.ready();
  const spec = `${JSON.stringify(app.swagger(), null, 2)}\n`;
  await app.close();
  return spec;
}
