import { canConnect } from '../common/kafka/reachable.ts';

/** Whether any bootstrap broker accepts connections, checked every `intervalMs`. */
export interface BrokerWatch {
  isUp(): boolean;
  stop(): void;
}

function reachable(hostPort: string, timeoutMs: number): Promise<boolean> {
  const at = hostPort.lastIndexOf(':');
  return canConnect(hostPort.slice(0, at), Number(hostPort.slice(at + 1)), timeoutMs);
}

/**
 * Probes the brokers with a TCP connect. kafkajs only notices a dead broker when a request fails after its
 * retries, seconds later; the probe lets the gateway answer 503 at once instead of holding orders in limbo.
 */
export async function watchBrokers(
  brokers: string[],
  onChange: (up: boolean) => void,
  intervalMs = 500,
): Promise<BrokerWatch> {
  let up = false;
  const probe = async () => {
    const now = (await Promise.all(brokers.map((b) => reachable(b, intervalMs)))).some(Boolean);
    if (now !== up) {
      up = now;
      onChange(up);
    }
  };
  await probe();
  const timer = setInterval(() => void probe(), intervalMs);
  timer.unref();
  return { isUp: () => up, stop: () => clearInterval(timer) };
}
