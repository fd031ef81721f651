import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';

/** A TCP port on 127.0.0.1 that nothing listens on right now (for brokers and backends started on free ports). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Which process listens on a local TCP port, as `name (pid N)`, when the system can tell (`ss`); undefined otherwise. */
export function listenerOf(port: number): string | undefined {
  const probe = spawnSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8', timeout: 2000 });
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(probe.stdout ?? '');
  return match ? `${match[1]} (pid ${match[2]})` : undefined;
}

/** Whether `hostPort` answers Kafka's protocol (a metadata request), within about `timeoutMs`. */
export async function answersAsKafka(hostPort: string, timeoutMs = 3000): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'ituna-start-probe',
    brokers: [hostPort],
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This checkout's `npm start`, held in a file: one at a time, and the next waits for one that is stopping. */
export interface StartLock {
  /** Says that this start is stopping, so a new one waits for it instead of refusing. */
  stopping(): void;
  release(): void;
}

/**
 * Takes the lock file, or throws naming the `npm start` that holds it. A holder that is stopping is waited for (at
 * most `waitMs`); a holder that died without releasing it is ignored.
 */
export async function takeStartLock(file: string, say: (line: string) => void, waitMs = 30_000): Promise<StartLock> {
  const deadline = Date.now() + waitMs;
  let said = false;
  for (;;) {
    try {
      closeSync(openSync(file, 'wx'));
      writeFileSync(file, JSON.stringify({ pid: process.pid, state: 'running' }));
      return {
        stopping: () => writeFileSync(file, JSON.stringify({ pid: process.pid, state: 'stopping' })),
        release: () => {
          try {
            unlinkSync(file);
          } catch {}
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: { pid?: number; state?: string } = {};
    try {
      holder = JSON.parse(readFileSync(file, 'utf8'));
    } catch {}
    if (!holder.pid || !alive(holder.pid)) {
      // Left by a start that was killed; its processes died with it.
      try {
        unlinkSync(file);
      } catch {}
      continue;
    }
    if (holder.state !== 'stopping')
      throw new Error(
        `another npm start (pid ${holder.pid}) is running this pipeline; stop it first (Ctrl-C there, or kill ${holder.pid})`,
      );
    if (Date.now() > deadline)
      throw new Error(`the previous npm start (pid ${holder.pid}) has not finished stopping after ${waitMs / 1000} s`);
    if (!said) say(`waiting for the previous npm start (pid ${holder.pid}) to finish stopping…`);
    said = true;
    await sleep(200);
  }
}
