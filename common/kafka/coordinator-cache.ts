import { createRequire } from 'node:module';

/** The part of a kafkajs broker connection this module touches (kafkajs's `Broker`, not in its public types). */
interface CoordinatorBroker {
  nodeId: number | null;
}

/** The part of kafkajs's `Cluster` this module patches and calls (not in its public types). */
interface Cluster {
  findGroupCoordinator(options: { groupId: string; coordinatorType?: number }): Promise<CoordinatorBroker>;
  findBroker(options: { nodeId: number }): Promise<CoordinatorBroker>;
}

// The coordinator is still writing the markers of the transaction before: it is the right coordinator, only busy.
const STILL_COORDINATOR = new Set(['CONCURRENT_TRANSACTIONS']);

/**
 * A transactional producer keeps the coordinators it found (its transaction's, and its consumer group's for the
 * offsets), as the Java client does. kafkajs 2.2.4 asks a broker again before every coordinator request: a transaction
 * made four FindCoordinator round trips of its nine (for AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and
 * EndTxn), a third of all the pipeline's requests. A coordinator is forgotten as soon as a request to it fails for
 * any reason but a busy coordinator (NOT_COORDINATOR after it moved, a broker gone, a timeout), so kafkajs's own retry
 * asks for it again, as it did before. Only the transactions' lookups name a coordinator type: a consumer's lookup
 * of its group's coordinator goes to kafkajs unchanged.
 */
function cacheCoordinators(cluster: { prototype: Cluster }): void {
  const kafkajsLookUp = cluster.prototype.findGroupCoordinator;
  // Every lookup, cached or not, goes through this one.
  const lookUp = function (this: Cluster, options: Parameters<Cluster['findGroupCoordinator']>[0]) {
    return kafkajsLookUp.call(this, options).catch(retriableIfNoneFound);
  };
  const known = new WeakMap<Cluster, Map<string, number>>();

  // Every method call on the coordinator goes through here, so a failure forgets it whoever made the call.
  const forgettingOnFailure = (broker: CoordinatorBroker, forget: () => void) =>
    new Proxy(broker, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = value.apply(target, args);
          if (!(result instanceof Promise)) return result;
          return result.catch((error: { type?: string }) => {
            if (!STILL_COORDINATOR.has(error?.type ?? '')) forget();
            throw error;
          });
        };
      },
    });

  cluster.prototype.findGroupCoordinator = async function (this: Cluster, options) {
    if (options.coordinatorType === undefined) return lookUp.call(this, options);
    let nodes = known.get(this);
    if (!nodes) {
      nodes = new Map();
      known.set(this, nodes);
    }
    const key = `${options.coordinatorType}:${options.groupId}`;
    const forget = () => nodes.delete(key);
    const nodeId = nodes.get(key);
    if (nodeId !== undefined) {
      // The connection comes from kafkajs's pool: connected again if it dropped, an error if the broker left.
      const broker = await this.findBroker({ nodeId }).catch(() => undefined);
      if (broker) return forgettingOnFailure(broker, forget);
      forget();
    }
    const broker = await lookUp.call(this, options);
    if (broker.nodeId !== null) nodes.set(key, broker.nodeId);
    return forgettingOnFailure(broker, forget);
  };
}

const require = createRequire(import.meta.url);
const { KafkaJSError } = require('kafkajs/src/errors.js') as {
  KafkaJSError: new (message: string, options: { retriable: boolean }) => Error;
};

/**
 * kafkajs 2.2.4 gives up looking for a coordinator for good (KafkaJSGroupCoordinatorNotFound, not retriable) when
 * no broker answered the lookup: a broker stalled or restarting under a consumer that was joining its group. The
 * consumer then stops and never restarts (tulios/kafkajs#1445, #1630), so a worker would exit with Kafka about to
 * come back. No coordinator found now is worth asking again: this error is handed on as a retriable one, after which
 * kafkajs retries and, past its retries, restarts the consumer.
 */
function retriableIfNoneFound(error: unknown): never {
  for (let cause = error as { name?: string; cause?: unknown } | undefined; cause; cause = cause.cause as typeof cause)
    if (cause.name === 'KafkaJSGroupCoordinatorNotFound')
      throw new KafkaJSError(`${(error as Error).message}; no broker answered, asking again`, { retriable: true });
  throw error;
}

cacheCoordinators(require('kafkajs/src/cluster/index.js'));
