import autocannon from 'autocannon';
import { exampleOnlineOrder } from '../../gateway/schemas.ts';

/** The order every benchmark posts: the API's own example. */
export const ORDER_BODY = JSON.stringify(exampleOnlineOrder);

/** 50 connections posting ORDER_BODY to `POST /orders/online` for `seconds`, each sending again as soon as it is answered. */
export async function postOrders(baseUrl: string, seconds: number) {
  const result = await autocannon({
    url: `${baseUrl}/orders/online`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: ORDER_BODY,
    connections: 50,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors,
    requests: result.requests.total,
  };
}
