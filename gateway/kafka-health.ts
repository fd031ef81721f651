import { canConnect } from '../common/kafka/reachable.ts';

/** Whether any bootstrap broker accepts connections, checked every `intervalMs` while someone asks. */
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
 *
 * A connection every half second costs the gateway and each broker a wake-up for nothing while no order comes
 * (a fifth of an idle gateway's CPU), so once nobody has asked for `idleAfterMs` the probe slows to every
 * `idleIntervalMs`, and the first question after that probes again at once: it, and only it, gets the last answer.
 */
export async function watchBrokers(
  brokers: string[],
  onChange: (up: boolean) => void,
  { intervalMs = 500, idleIntervalMs = 5000, idleAfterMs = 10_000 } = {},
): Promise<BrokerWatch> {
  let up = false;
  let askedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let probing = false;
  let stopped = false;
  const idle = () => performance.now() - askedAt >= idleAfterMs;

  const probe = async () => {
    probing = true;
    clearTimeout(timer);
    try {
      const now = (await Promise.all(brokers.map((b) => reachable(b, intervalMs)))).some(Boolean);
      if (now !== up && !stopped) {
        up = now;
        onChange(up);
      }
    } finally {
      probing = false;
    }
    if (stopped) return;
    timer = setTimeout(() => void probe(), idle() ? idleIntervalMs : intervalMs);
    timer.unref();
  };

  await probe();
  return {
    isUp() {
      const wasIdle = idle();
      askedAt = performance.now();
      if (wasIdle && !probing) void probe();
      return up;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
