import { createRequire } from 'node:module';

/** The part of kafkajs's per-connection request queue (not in its public types) that the fixes below touch. */
interface RequestQueueInternals {
  pending: unknown[];
  inflight: Map<number, { sentAt: number; requestTimeout: number; timeoutRequest(): void }>;
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  requestTimeoutIntervalId: NodeJS.Timeout | undefined;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  checkPendingRequests(): void;
  isConnected(): boolean;
  destroy(): void;
}

// kafkajs 2.2.4 re-arms a timer after every look at a connection's queue, even an empty one, and with no throttle in
// force the delay is negative, so 1 ms: each connection wakes its process a thousand times a second for nothing
// (tulios/kafkajs#1556 and #1704, fixed upstream in no release). A queued request is the only thing the timer is for:
// pushing one and every response already look at the queue, so it is armed only while a request waits.
const { prototype: queue } = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: RequestQueueInternals & { scheduleCheckPendingRequests(): void; scheduleRequestTimeoutCheck(): void };
};
const CHECK_AGAIN_MS = 10;

queue.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttledFor = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledFor > 0 ? throttledFor : CHECK_AGAIN_MS,
  );
};

// It also looks for requests past their timeout every 100 ms on every connection, another ten wake-ups a second each.
// Looking every tenth of the timeout (at most every second) makes a request time out at most 10 % late.
queue.scheduleRequestTimeoutCheck = function (this: RequestQueueInternals) {
  if (!this.enforceRequestTimeout) return;
  this.destroy();
  this.requestTimeoutIntervalId = setInterval(
    () => {
      for (const request of this.inflight.values())
        if (Date.now() - request.sentAt > request.requestTimeout) request.timeoutRequest();
      if (!this.isConnected()) this.destroy();
    },
    Math.min(1000, Math.max(10, this.requestTimeout / 10)),
  );
};

/** The patched queue class, for the test that holds the fix. */
export const RequestQueue = queue.constructor as new (options: Record<string, unknown>) => RequestQueueInternals;
