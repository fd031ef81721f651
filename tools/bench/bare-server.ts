import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { OnlineOrderRequest, OrderAccepted } from '../../gateway/schemas.ts';

// The HTTP limit: the same route, body schema and response as the gateway, answering 202 without Kafka.
const app = Fastify({
  ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
}).withTypeProvider<TypeBoxTypeProvider>();
app.post(
  '/orders/online',
  { schema: { body: OnlineOrderRequest, response: { 202: OrderAccepted } } },
  async (_request, reply) =>
    reply.code(202).header('location', '/orders/x').send({ orderId: randomUUID(), status: 'accepted' }),
);
const url = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`Server listening at ${url}`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
