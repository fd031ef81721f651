import type { FlatSpan } from './otlp.ts';

/** A trace's spans by parent id; spans whose parent is not in the trace are filed under ''. */
export function childrenByParent(spans: FlatSpan[]): Map<string, FlatSpan[]> {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, FlatSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : '';
    const list = children.get(parent);
    if (list) list.push(span);
    else children.set(parent, [span]);
  }
  return children;
}

/** The trace's root: the span without a parent in the trace, the earliest such if several. */
export function rootOf(spans: FlatSpan[]): FlatSpan | undefined {
  const ids = new Set(spans.map((s) => s.spanId));
  let root: FlatSpan | undefined;
  for (const span of spans) {
    if (span.parentSpanId && ids.has(span.parentSpanId)) continue;
    if (!root || span.startMs < root.startMs) root = span;
  }
  return root;
}

/** The topic a messaging span sends to or reads from. */
export const topicOf = (span: FlatSpan) =>
  String(span.attributes['messaging.destination.name'] ?? span.name.replace(/^(send|process) /, ''));

/** One trace as an indented tree, children in start order, with service, kind and duration on each line. */
export function formatTraceTree(spans: FlatSpan[]): string {
  const children = childrenByParent(spans);
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs);
  const lines: string[] = [];
  const walk = (span: FlatSpan, prefix: string, connector: string) => {
    const kind = span.kind === 'internal' ? '' : ` ${span.kind.toUpperCase()}`;
    lines.push(`${prefix}${connector}${span.name}  [${span.service}]${kind} ${span.durationMs.toFixed(1)} ms`);
    const list = children.get(span.spanId) ?? [];
    const childPrefix = prefix + (connector === '├─ ' ? '│  ' : connector === '└─ ' ? '   ' : '');
    for (const [i, child] of list.entries()) walk(child, childPrefix, i === list.length - 1 ? '└─ ' : '├─ ');
  };
  for (const root of children.get('') ?? []) walk(root, '', '');
  return lines.join('\n');
}
