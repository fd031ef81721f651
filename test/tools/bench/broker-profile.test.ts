import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseThreadCpu, summarizeExecutionSamples, threadCpuBetween } from '../../../tools/bench/broker-profile.ts';

const dump = (handlerMs: number, networkMs: number) => `2026-12-04 18:46:03
Full thread dump OpenJDK 64-Bit Server VM (17.0.15+6-Debian-1deb12u1 mixed mode, sharing):

"data-plane-kafka-request-handler-0" #79 daemon prio=5 os_prio=0 cpu=${handlerMs}ms elapsed=0.64s tid=0x00007f5b5d0c1090 nid=0x1733 waiting on condition  [0x00007f5ac4c57000]
   java.lang.Thread.State: WAITING (parking)
"data-plane-kafka-request-handler-1" #80 daemon prio=5 os_prio=0 cpu=1.00ms elapsed=0.63s tid=0x00007f5b5d0c26d0 nid=0x1734 waiting on condition  [0x00007f5ac4b57000]
"data-plane-kafka-network-thread-1-PLAINTEXT-PLAINTEXT-0" #19 prio=5 os_prio=0 cpu=${networkMs}ms elapsed=1.10s tid=0x00007f5b5ceaad40 nid=0x1712 runnable  [0x00007f5ac6a57000]
"GC Thread#0" os_prio=0 cpu=5.00ms elapsed=3.38s tid=0x00007f5b5c0363c0 nid=0x16ee runnable
`;

it('When two thread dumps of the broker are compared, then each kind of thread gets the CPU its threads used in between', () => {
  const before = parseThreadCpu(dump(10, 20));
  assert.equal(before.size, 4);
  assert.deepEqual(before.get('0x1733'), { name: 'data-plane-kafka-request-handler-0', ms: 10 });
  assert.deepEqual(threadCpuBetween(before, parseThreadCpu(dump(40.5, 25))), [
    { group: 'data-plane-kafka-request-handler-#', ms: 30.5 },
    { group: 'data-plane-kafka-network-thread-#-PLAINTEXT-PLAINTEXT-#', ms: 5 },
  ]);
});

const sample = (thread: string, frames: string[]) => `jdk.ExecutionSample {
  startTime = 18:47:19.625
  sampledThread = "${thread}" (javaThreadId = 79)
  state = "STATE_RUNNABLE"
  stackTrace = [
${frames.map((f) => `    ${f} line: 1`).join('\n')}
    ...
  ]
}
`;

it('When Flight Recorder samples are summarised, then each counts for the package on top, the nearest Kafka method and its kind of thread', () => {
  const text = [
    sample('data-plane-kafka-request-handler-0', [
      'java.util.HashMap.get(Object)',
      'kafka.server.ReplicaManager.appendRecords(long, short)',
      'kafka.server.KafkaApis.handle(RequestChannel$Request)',
    ]),
    sample('data-plane-kafka-request-handler-1', [
      'org.apache.kafka.common.record.MemoryRecords.writeFullyTo(GatheringByteChannel)',
    ]),
    sample('data-plane-kafka-network-thread-1-PLAINTEXT-PLAINTEXT-0', [
      'sun.nio.ch.SocketDispatcher.write0(FileDescriptor, long, int)',
      'java.lang.Thread.run()',
    ]),
    sample('data-plane-kafka-request-handler-0', [
      'kafka.server.KafkaApis$$Lambda$1234/0x0000000800c4b000.apply(Object)',
    ]),
  ].join('\n');
  const summary = summarizeExecutionSamples(text);
  assert.equal(summary.samples, 4);
  assert.deepEqual(
    summary.byPackage.map((s) => [s.name, s.percent]),
    [
      ['java.util', 25],
      ['org.apache.kafka.common.record', 25],
      ['sun.nio.ch', 25],
      ['kafka.server', 25],
    ],
  );
  assert.deepEqual(
    summary.byKafkaMethod.map((s) => s.name),
    [
      'ReplicaManager.appendRecords',
      'MemoryRecords.writeFullyTo',
      '(no Kafka frame within the stack depth)',
      'KafkaApis$$Lambda$1234/0x0000000800c4b000.apply',
    ],
  );
  assert.deepEqual(
    summary.byThread.map((s) => [s.name, s.percent]),
    [
      ['data-plane-kafka-request-handler-#', 75],
      ['data-plane-kafka-network-thread-#-PLAINTEXT-PLAINTEXT-#', 25],
    ],
  );
});
