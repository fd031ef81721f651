import { setTimeout as sleep } from 'node:timers/promises';
import { AssignerProtocol } from 'kafkajs';
import type { Admin, GroupDescription, Kafka } from 'kafkajs';
import { CONSUMER_GROUPS } from '../../workers/consumer-groups.ts';

/** A consumer group, and the topic whose lag is read for it. */
export interface GroupTopic {
  groupId: string;
  topic: string;
}

/** The pipeline's committing groups: validation on orders.placed, the kitchen on kitchen.tickets. */
export const PIPELINE_GROUPS: GroupTopic[] = Object.values(CONSUMER_GROUPS).map(({ groupId, topic }) => ({
  groupId,
  topic: topic.name,
}));

/** One member of a group as Kafka knows it, with the partitions of the group's topic assigned to it. */
export interface GroupMember {
  memberId: string;
  clientId: string;
  /** The address the member connected from, as the broker saw it. */
  host: string;
  partitions: number[];
}

/** One partition of the group's topic: how far the group has read it and who reads it. */
interface PartitionLag {
  partition: number;
  /** The committed offset (the next message the group reads); undefined while the group has committed none here. */
  committed?: number;
  /** The log start offset: the first message still in the partition. */
  start: number;
  /** The log end offset (high watermark): one past the last message. */
  end: number;
  /** end − committed; without a usable committed offset, end − start (the workers read from the beginning). */
  lag: number;
  /** No committed offset at or after the log start: `lag` is counted from the start. */
  fromStart: boolean;
  owner?: GroupMember;
}

/** What Kafka says about one group on one topic, the way an operator scaling its consumers looks at it. */
export interface GroupLag {
  groupId: string;
  topic: string;
  /** Kafka's group state: Stable, Empty (no member, offsets kept), Dead (no such group), PreparingRebalance, CompletingRebalance. */
  state: GroupDescription['state'];
  members: GroupMember[];
  partitions: PartitionLag[];
  /** Members of a stable group that own no partition of the topic: more members than partitions. */
  idle: GroupMember[];
  /** The sum of the partitions' lag. */
  lag: number;
  /** The topic does not exist (yet): no partitions to read. */
  missingTopic: boolean;
}

/** The consumer groups as read from Kafka, or why they could not be. */
export type ConsumerGroupsSnapshot = { available: true; groups: GroupLag[] } | { available: false; reason: string };

function membersOf(description: GroupDescription | undefined, topic: string): GroupMember[] {
  // Only a consumer group's assignments have the consumer protocol's layout; during a rebalance they are empty.
  const decodable = description?.protocolType === 'consumer';
  return (description?.members ?? [])
    .map((member) => {
      const assignment =
        decodable && member.memberAssignment.length > 0
          ? AssignerProtocol.MemberAssignment.decode(member.memberAssignment)
          : null;
      const partitions = [...(assignment?.assignment[topic] ?? [])].sort((a, b) => a - b);
      return {
        memberId: member.memberId,
        clientId: member.clientId,
        host: member.clientHost.replace(/^\//, ''),
        partitions,
      };
    })
    .sort((a, b) => a.clientId.localeCompare(b.clientId) || a.memberId.localeCompare(b.memberId));
}

async function readGroups(admin: Admin, groups: GroupTopic[]): Promise<GroupLag[]> {
  const [topics, described] = await Promise.all([
    admin.listTopics(),
    admin.describeGroups([...new Set(groups.map((g) => g.groupId))]),
  ]);
  const existing = new Set(topics);
  return Promise.all(
    groups.map(async ({ groupId, topic }): Promise<GroupLag> => {
      const description = described.groups.find((d) => d.groupId === groupId);
      const state = description?.state ?? 'Dead';
      const members = membersOf(description, topic);
      if (!existing.has(topic))
        return { groupId, topic, state, members, partitions: [], idle: [], lag: 0, missingTopic: true };
      const [offsets, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const committedOf = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      const partitions = offsets
        .map(({ partition, low, high }): PartitionLag => {
          const [start, end] = [Number(low), Number(high)];
          const offset = committedOf.get(partition);
          // Kafka answers -1 for a partition the group never committed.
          const known = offset !== undefined && offset >= 0 ? offset : undefined;
          const fromStart = known === undefined || known < start;
          const owner = members.find((m) => m.partitions.includes(partition));
          return {
            partition,
            ...(known !== undefined ? { committed: known } : {}),
            start,
            end,
            lag: Math.max(0, end - (fromStart ? start : known)),
            fromStart,
            ...(owner ? { owner } : {}),
          };
        })
        .sort((a, b) => a.partition - b.partition);
      // Only a stable group's assignment is settled; while it rebalances every member looks idle.
      const idle = state === 'Stable' ? members.filter((m) => m.partitions.length === 0) : [];
      return {
        groupId,
        topic,
        state,
        members,
        partitions,
        idle,
        lag: partitions.reduce((sum, p) => sum + p.lag, 0),
        missingTopic: false,
      };
    }),
  );
}

/** Reads each group's members, their partitions, and every partition's committed offset, log end and lag; throws what Kafka throws. */
export async function readConsumerGroups(kafka: Kafka, groups: GroupTopic[] = PIPELINE_GROUPS): Promise<GroupLag[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await readGroups(admin, groups);
  } finally {
    await admin.disconnect();
  }
}

/**
 * `readConsumerGroups` within `timeoutMs`: never throws, and says why when Kafka did not answer in time. Give it a
 * client with few retries, or its reconnects outlive the answer.
 */
export async function snapshotConsumerGroups(
  kafka: Kafka,
  { groups = PIPELINE_GROUPS, timeoutMs = 5000 }: { groups?: GroupTopic[]; timeoutMs?: number } = {},
): Promise<ConsumerGroupsSnapshot> {
  const admin = kafka.admin();
  const timeout = new AbortController();
  const read = (async () => {
    await admin.connect();
    return readGroups(admin, groups);
  })();
  try {
    const outcome = await Promise.race([
      read.then((groups) => ({ groups })),
      sleep(timeoutMs, undefined, { signal: timeout.signal }),
    ]);
    return outcome
      ? { available: true, groups: outcome.groups }
      : { available: false, reason: `no answer within ${timeoutMs / 1000} s` };
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  } finally {
    timeout.abort();
    read.catch(() => {});
    await Promise.race([admin.disconnect().catch(() => {}), sleep(1000, undefined, { ref: false })]);
  }
}

/** The consumer groups as the report shows them: what Kafka answered, and where it was asked. */
export interface ConsumerGroupsView {
  brokers: string;
  snapshot: ConsumerGroupsSnapshot;
}
