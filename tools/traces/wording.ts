import type { Comparison } from './compare-runs.ts';
import type { GroupLag, GroupMember } from './consumer-groups.ts';
import { formatChange, formatMs, formatShare, spokenDuration } from './format.ts';
import type { BottleneckReport, Percentiles } from './run-analysis.ts';

// What the analyses mean, said in sentences. The report's text and HTML, and the trace store's pages, all say it the
// same way because they all say it from here.

/** "240 of 300 orders in flight, oldest waiting 95 s in kitchen.tickets (200 in kitchen.tickets, 40 in …). " or "". */
function inFlightSentence(report: BottleneckReport): string {
  const places = report.inFlight.places;
  const oldest = places.reduce<(typeof places)[number] | undefined>(
    (a, b) => (!a || b.oldestMs > a.oldestMs ? b : a),
    undefined,
  );
  if (!oldest) return '';
  const count = report.inFlight.count;
  const spread =
    places.length > 1 || places[0]!.count !== count || places[0]!.where !== oldest.where
      ? ` (${places.map((p) => `${p.count} in ${p.where}`).join(', ')})`
      : '';
  return `${count} of ${report.orders} orders in flight, oldest waiting ${spokenDuration(oldest.oldestMs)} in ${oldest.where}${spread}. `;
}

/** The one-line verdict: where the orders' time goes, and the slowest step there. */
export function verdictOf(report: BottleneckReport): string {
  const b = report.bottleneck;
  if (!b) {
    return report.orders > 0
      ? `${inFlightSentence(report)}No stage has held an order yet: nothing to judge.`
      : 'No completed orders in these traces: nothing to judge yet.';
  }
  const queued =
    b.waitShare >= 0.05 ? `, ${formatShare(b.waitShare)} of it waiting for the ${b.station} to be free` : '';
  const step = b.stage
    ? `; its slowest step is "${b.stage}" (${formatShare(b.share)} of the path, self time p95 ${formatMs(b.selfP95)})`
    : '';
  return `${inFlightSentence(report)}Bottleneck: ${b.station} — ${formatShare(b.stationShare)} of the orders' critical path${queued}${step}.`;
}

/** "300 traces: 290 orders — 250 ready, 10 rejected, 30 in flight". */
export const countsLine = (report: BottleneckReport) =>
  `${report.traces} traces: ${report.orders} orders — ${report.ready} ready, ${report.rejected} rejected, ${report.inFlight.count} in flight`;

/** End-to-end figures exist only for finished orders: "—" when none finished. */
export const endToEndLine = (e2e: Percentiles) =>
  e2e.count === 0
    ? '— (no order finished yet)'
    : `p50 ${formatMs(e2e.p50)}  p95 ${formatMs(e2e.p95)}  p99 ${formatMs(e2e.p99)}  max ${formatMs(e2e.max)}`;

/** The differences between two runs that matter, one sentence each: the bottleneck, end to end, queues, then stages. */
export function whatChanged({ baseline, current, stages, queues }: Comparison): string[] {
  const statements: string[] = [];
  const [was, is] = [baseline.report.bottleneck, current.report.bottleneck];
  if (was && is && was.station !== is.station) {
    statements.push(
      `bottleneck moved from ${was.station} (${formatShare(was.stationShare)} of the critical path) to ${is.station} (${formatShare(is.stationShare)})`,
    );
  } else if (was && is) {
    statements.push(
      `bottleneck stays at ${is.station}: ${formatShare(was.stationShare)} → ${formatShare(is.stationShare)} of the critical path`,
    );
  } else if (is) {
    statements.push(`bottleneck: ${is.station} (the baseline had no finished order to judge)`);
  }
  const [e2eBefore, e2eAfter] = [baseline.report.endToEnd, current.report.endToEnd];
  if (e2eBefore.count > 0 && e2eAfter.count > 0) {
    statements.push(
      `end to end p95 ${formatMs(e2eBefore.p95)} → ${formatMs(e2eAfter.p95)} (${formatChange(e2eBefore.p95, e2eAfter.p95)}), p50 ${formatMs(e2eBefore.p50)} → ${formatMs(e2eAfter.p50)} (${formatChange(e2eBefore.p50, e2eAfter.p50)})`,
    );
  }
  const [flyingBefore, flyingAfter] = [baseline.report.inFlight.count, current.report.inFlight.count];
  if (flyingBefore > 0 || flyingAfter > 0) {
    statements.push(
      `orders in flight ${flyingBefore} of ${baseline.report.orders} → ${flyingAfter} of ${current.report.orders}`,
    );
  }
  for (const q of queues) {
    if (q.before && q.after) {
      statements.push(
        `${q.topic} wait p95 ${formatMs(q.before.p95)} → ${formatMs(q.after.p95)} (${formatChange(q.before.p95, q.after.p95)})`,
      );
    }
  }
  const moved = (row: Comparison['stages'][number]) => Math.abs((row.after?.share ?? 0) - (row.before?.share ?? 0));
  for (const row of stages
    .filter((r) => moved(r) >= 0.05)
    .sort((a, b) => moved(b) - moved(a))
    .slice(0, 4)) {
    const self =
      row.before && row.after && !row.stage.startsWith('queue ')
        ? `, self p95 ${formatMs(row.before.self.p95)} → ${formatMs(row.after.self.p95)}`
        : '';
    statements.push(
      `${row.stage} (${row.station}) ${formatShare(row.before?.share ?? 0)} → ${formatShare(row.after?.share ?? 0)} of the critical path${self}`,
    );
  }
  return statements;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** A member id without its client id prefix, cut to 8 characters: enough to tell the members of one host apart. */
export const shortMemberId = (member: GroupMember) =>
  (member.memberId.startsWith(`${member.clientId}-`)
    ? member.memberId.slice(member.clientId.length + 1)
    : member.memberId
  ).slice(0, 8);

/** A group's state in words, with its members against its partitions. */
function groupState(group: GroupLag): string {
  const members = `${plural(group.members.length, 'member')} for ${plural(group.partitions.length, 'partition')}`;
  switch (group.state) {
    case 'Stable':
      return group.members.length > group.partitions.length ? `${members}: more members than partitions` : members;
    case 'Empty':
      return 'no member: nothing consumes it now (its committed offsets are kept)';
    case 'Dead':
      return 'no such group: nothing has joined it yet, or its offsets expired';
    case 'PreparingRebalance':
    case 'CompletingRebalance':
      return `rebalancing (${members}): owners are being handed out again`;
    default:
      return `${group.state}, ${members}`;
  }
}

/** "ituna-kitchen on kitchen.tickets: 2 members for 6 partitions; lag 40 messages". */
export const groupHeadline = (group: GroupLag) =>
  group.missingTopic
    ? `${group.groupId} on ${group.topic}: the topic does not exist yet (a service creates it when it starts)`
    : `${group.groupId} on ${group.topic}: ${groupState(group)}; lag ${plural(group.lag, 'message')}`;

/** Said under a group's table when a partition's lag counts from its start. */
export const FROM_START_NOTE =
  "* no committed offset yet: lag counted from the partition's start offset (the workers read from the beginning)";
/** Said before a group's idle members. */
export const IDLE_NOTE = 'a partition is read by one member of a group at a time, so these have nothing to consume';
