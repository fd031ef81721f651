import type { OrderRecord } from './order-history.ts';

/** One stretch of an order's life: waiting in Kafka (`queue`) or being worked on (`work`). */
export interface TimelineStage {
  stage: string;
  kind: 'queue' | 'work';
  start: string;
  end: string;
  ms: number;
}

/** Where the order's time went, from the times each station reported: the angry customer's answer. */
export function timelineOf(order: OrderRecord): TimelineStage[] {
  const at = (status: string) => order.history.find((h) => h.status === status);
  const stages: TimelineStage[] = [];
  const add = (stage: string, kind: TimelineStage['kind'], start?: string, end?: string) => {
    if (!start || !end) return;
    stages.push({ stage, kind, start, end, ms: Math.max(0, Date.parse(end) - Date.parse(start)) });
  };
  const accepted = at('accepted');
  const checked = at('validated') ?? at('rejected');
  const cooking = at('cooking');
  const ready = at('ready');
  add('waiting for validation', 'queue', accepted?.at, checked?.startedAt);
  add('validation', 'work', checked?.startedAt, checked?.at);
  add('waiting for the kitchen', 'queue', checked?.at ?? accepted?.at, cooking?.startedAt);
  add('waiting for a chef', 'queue', cooking?.startedAt, cooking?.at);
  add('cooking', 'work', cooking?.at, ready?.at);
  return stages;
}
