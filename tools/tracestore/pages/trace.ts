import { isFollowerSpan, orderState, selfTime, traceCriticalPath } from '../../traces/analysis.ts';
import { spokenDuration } from '../../traces/format.ts';
import { escapeHtml } from '../../traces/html.ts';
import type { FlatSpan } from '../../traces/otlp.ts';
import { childrenByParent, rootOf, topicOf } from '../../traces/tree.ts';
import { TRACE_SCRIPT, TRACE_STYLE } from './assets.ts';
import { renderTraceGraph } from './graph.ts';
import { clock, duration, htmlPage, scriptJson, serviceColours } from './layout.ts';

/** A span in the order the waterfall draws it (depth first, children by start), with what its row shows. */
interface Row {
  span: FlatSpan;
  depth: number;
  follower: boolean;
  selfMs: number;
  /** The message's time in Kafka: the producer span's end to this consumer span's start. */
  wait?: { producer: FlatSpan; topic: string; ms: number };
}

function rowsOf(spans: FlatSpan[]): Row[] {
  const children = childrenByParent(spans);
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const rows: Row[] = [];
  // Depth first without recursion: a long chain of spans must not exhaust the stack.
  const stack: Array<{ span: FlatSpan; depth: number; follower: boolean }> = (children.get('') ?? [])
    .map((span) => ({ span, depth: 0, follower: isFollowerSpan(span) }))
    .reverse();
  while (stack.length > 0) {
    const { span, depth, follower } = stack.pop()!;
    const own = children.get(span.spanId) ?? [];
    const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    const wait =
      span.kind === 'consumer' && parent?.kind === 'producer'
        ? { producer: parent, topic: topicOf(span), ms: Math.max(0, span.startMs - parent.endMs) }
        : undefined;
    rows.push({ span, depth, follower, selfMs: selfTime(span, own), wait });
    for (let i = own.length - 1; i >= 0; i--)
      stack.push({ span: own[i]!, depth: depth + 1, follower: follower || isFollowerSpan(own[i]!) });
  }
  return rows;
}

const KIND_LABEL: Record<FlatSpan['kind'], string> = {
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
  internal: '',
  unspecified: '',
};

const pct = (x: number) => `${(x * 100).toFixed(4)}%`;

/** A hop across Kafka from one span to another: a producer to the consumers of its message, or back. */
interface Jump {
  direction: 'to consumer' | 'to producer';
  traceId: string;
  spanId: string;
  /** "process orders.placed (ituna-order-validation)", and where it is when in another trace. */
  label: string;
  short: string;
}

/** A jump's address: an anchor on this page, or the other trace's page scrolled to the span. */
const jumpHref = (traceId: string, jump: Jump) =>
  jump.traceId === traceId ? `#span-${jump.spanId}` : `/trace/${jump.traceId}#span-${jump.spanId}`;

/**
 * For each producer span, the consumer spans of its message; for each consumer span, its producer — whether the
 * consumer is the producer's child in this trace or, through a span link, in another (`linkedFrom` holds the spans of
 * other traces that link to a span of this one).
 */
function jumpsOf(spans: FlatSpan[], linkedFrom: FlatSpan[]): Map<string, Jump[]> {
  const jumps = new Map<string, Jump[]>();
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const seen = new Set<string>();
  const add = (from: FlatSpan, to: { traceId: string; span: FlatSpan }, direction: Jump['direction']) => {
    const key = `${from.spanId}>${to.traceId}/${to.span.spanId}`;
    if (seen.has(key)) return;
    seen.add(key);
    const elsewhere = to.traceId !== from.traceId ? ` in trace ${to.traceId}` : '';
    const verb = direction === 'to consumer' ? 'consumed by' : 'produced by';
    const list = jumps.get(from.spanId) ?? [];
    list.push({
      direction,
      traceId: to.traceId,
      spanId: to.span.spanId,
      label: `${verb} ${to.span.name} (${to.span.service})${elsewhere}`,
      short: `${direction === 'to consumer' ? 'consumer' : 'producer'}${elsewhere ? ' (other trace)' : ''}`,
    });
    jumps.set(from.spanId, list);
  };
  for (const span of spans) {
    if (span.kind !== 'consumer') continue;
    const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    if (parent?.kind === 'producer') {
      add(parent, { traceId: span.traceId, span }, 'to consumer');
      add(span, { traceId: parent.traceId, span: parent }, 'to producer');
    }
    // A link to a producer in another trace (or one this trace does not parent the span on).
    for (const link of span.links) {
      const producer = byId.get(link.spanId);
      if (producer?.kind === 'producer') {
        add(producer, { traceId: span.traceId, span }, 'to consumer');
        add(span, { traceId: producer.traceId, span: producer }, 'to producer');
      }
    }
  }
  // Consumers in other traces that link to a producer here, and producers there that consumers here link to.
  for (const other of linkedFrom) {
    for (const link of other.links) {
      const local = byId.get(link.spanId);
      if (local?.kind === 'producer' && other.kind === 'consumer')
        add(local, { traceId: other.traceId, span: other }, 'to consumer');
    }
  }
  for (const span of spans) {
    if (span.kind !== 'consumer') continue;
    for (const link of span.links) {
      if (byId.has(link.spanId)) continue;
      const remote = linkedFrom.find((o) => o.spanId === link.spanId && o.traceId === link.traceId);
      if (remote?.kind === 'producer') add(span, { traceId: remote.traceId, span: remote }, 'to producer');
    }
  }
  return jumps;
}

/** One trace as a waterfall: a bar per span on one time axis, Kafka waits as segments of their own, the critical path marked. */
export function renderTracePage(traceId: string, spans: FlatSpan[], linkedFrom: FlatSpan[] = []): string {
  if (spans.length === 0) {
    return htmlPage(
      'Trace not found',
      `<nav class="top"><a href="/">← all traces</a></nav><h1>Trace not found</h1><p>No span of trace <code>${escapeHtml(traceId)}</code> is kept.</p>`,
    );
  }
  const rows = rowsOf(spans);
  const jumps = jumpsOf(spans, linkedFrom);
  let [t0, t1] = [Infinity, -Infinity];
  for (const s of spans) {
    t0 = Math.min(t0, s.startMs);
    t1 = Math.max(t1, s.endMs);
  }
  const total = Math.max(t1 - t0, 1e-3);
  const x = (t: number) => (t - t0) / total;
  const root = rootOf(spans)!;
  // Sorted, as on the list page, so a service keeps its colour from page to page.
  const colours = serviceColours([...new Set(spans.map((s) => s.service))].sort());
  const index = new Map(rows.map((r, i) => [r.span.spanId, i]));

  const path = traceCriticalPath(spans);
  // A wait in Kafka is drawn in the consumer's row, so its stretch of the critical path goes there too.
  const sectionsByRow = new Map<number, string[]>();
  for (const s of path.sections) {
    const row = index.get(s.stage.startsWith('queue ') && s.before ? s.before : s.spanId);
    if (row === undefined) continue;
    const html = `<div class="crit" data-key="${escapeHtml(`${s.station}|${s.stage}`)}" data-ms="${(s.endMs - s.startMs).toFixed(6)}" style="left:${pct(x(s.startMs))};width:${pct((s.endMs - s.startMs) / total)}" title="${escapeHtml(`critical path: ${s.stage}, ${duration(s.endMs - s.startMs)}`)}"></div>`;
    sectionsByRow.set(row, [...(sectionsByRow.get(row) ?? []), html]);
  }

  const rowHtml = rows
    .map((row, i) => {
      const s = row.span;
      const kind = KIND_LABEL[s.kind];
      const classes = ['row', row.follower ? 'follower' : '', s.status.code === 'error' ? 'error' : '']
        .filter(Boolean)
        .join(' ');
      const wait = row.wait
        ? `<div class="wait" data-from="${escapeHtml(row.wait.producer.spanId)}" data-to="${escapeHtml(s.spanId)}" data-ms="${row.wait.ms.toFixed(6)}" style="left:${pct(x(row.wait.producer.endMs))};width:${pct(row.wait.ms / total)}" title="${escapeHtml(`waited ${duration(row.wait.ms)} in ${row.wait.topic}`)}"></div>`
        : '';
      const meta = `self ${duration(row.selfMs)}${row.wait ? ` · waited ${duration(row.wait.ms)} in ${escapeHtml(row.wait.topic)}` : ''}`;
      // Beside the bar, on the side with room: from its start on the left half, ending at its end on the right half.
      const from = x(row.wait ? row.wait.producer.endMs : s.startMs);
      const metaAt = from < 0.5 ? `left:${pct(from)}` : `right:${pct(Math.max(0, 1 - x(s.endMs)))}`;
      const hops = (jumps.get(s.spanId) ?? [])
        .map(
          (j) =>
            `<a class="jump" href="${escapeHtml(jumpHref(traceId, j))}" title="${escapeHtml(j.label)}">${j.direction === 'to consumer' ? '→' : '←'} ${escapeHtml(j.short)}</a>`,
        )
        .join(' ');
      return `<div class="${classes}" id="span-${escapeHtml(s.spanId)}" data-i="${i}" data-span="${escapeHtml(s.spanId)}" data-start="${(s.startMs - t0).toFixed(6)}" data-dur="${s.durationMs.toFixed(6)}">
<div class="label" style="padding-left:${Math.min(row.depth, 24) * 12}px"><i class="swatch" style="background:${colours.get(s.service)}"></i><button class="name" aria-expanded="false" title="${escapeHtml(`${s.name} — ${s.service}`)}"><span class="n">${escapeHtml(s.name)}</span></button>${kind ? `<span class="kind">${kind}</span>` : ''}${s.status.code === 'error' ? '<span class="errtag">error</span>' : ''}<span class="d">${duration(s.durationMs)}</span></div>
<div class="lane">${wait}<div class="bar" style="left:${pct(x(s.startMs))};width:${pct(s.durationMs / total)};background:${colours.get(s.service)}"></div>${(sectionsByRow.get(i) ?? []).join('')}<span class="meta${from < 0.5 ? '' : ' right'}" style="${metaAt}">${meta}${hops ? ` · ${hops}` : ''}</span></div></div>`;
    })
    .join('\n');

  const data = rows.map(({ span: s, selfMs, wait }) => ({
    spanId: s.spanId,
    parent: s.parentSpanId,
    name: s.name,
    service: s.service,
    kind: s.kind,
    offset: s.startMs - t0,
    dur: s.durationMs,
    self: selfMs,
    wait: wait ? `${duration(wait.ms)} in ${wait.topic} (producer end → consumer start)` : undefined,
    status: s.status,
    attributes: s.attributes,
    events: s.events.map((e) => ({ name: e.name, offset: e.timeMs - t0, attributes: e.attributes })),
    links: s.links,
    jumps: (jumps.get(s.spanId) ?? []).map((j) => ({ label: j.label, href: jumpHref(traceId, j) })),
  }));

  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<span class="tick${f === 1 ? ' end' : ''}" style="left:${pct(f)}">${f === 0 ? '0' : duration(total * f)}</span>`,
    )
    .join('');
  const order =
    root.attributes['ituna.order.id'] ??
    spans.find((s) => s.attributes['ituna.order.id'] !== undefined)?.attributes['ituna.order.id'];
  const run = spans.find((s) => s.attributes['ituna.run.id'] !== undefined)?.attributes['ituna.run.id'];
  const errors = spans.filter((s) => s.status.code === 'error').length;
  const followers = rows.filter((r) => r.follower).length;
  const state = orderState(spans);
  const flying =
    state?.state === 'in flight'
      ? `<p class="note">In flight: waiting in ${escapeHtml(state.where)} since ${clock(state.sinceMs)} (${spokenDuration(Math.max(0, Date.now() - state.sinceMs))} ago, as this page was made).</p>`
      : '';
  const cpRows = [...path.byStage]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(
      ([key, { ms, station }]) =>
        `<tr data-key="${escapeHtml(key)}" data-ms="${ms.toFixed(6)}"><td>${escapeHtml(key.slice(key.indexOf('|') + 1))}</td><td>${station}</td><td class="num">${duration(ms)}</td><td class="num">${((ms / Math.max(path.totalMs, 1e-9)) * 100).toFixed(1)}%</td></tr>`,
    )
    .join('');
  const link = (name: string, value: unknown) =>
    `<a href="/?${escapeHtml(new URLSearchParams({ [name]: String(value) }).toString())}">${escapeHtml(String(value))}</a>`;

  const body = `<nav class="top"><a href="/">← all traces</a><a href="/api/v3/traces/${escapeHtml(encodeURIComponent(traceId))}">as OTLP JSON</a></nav>
<header class="trace"><h1>${escapeHtml(root.name)} <span class="muted">— ${escapeHtml(root.service)}</span></h1>
<div class="facts"><span>trace <code>${escapeHtml(traceId)}</code></span><span>${duration(t1 - root.startMs)}</span><span>${spans.length} spans</span><span>started ${clock(root.startMs)}</span>
${order !== undefined ? `<span>order ${link('order', order)}</span>` : ''}${run !== undefined ? `<span>run ${link('run', run)}</span>` : ''}${errors ? `<span class="err-mark">${errors} error${errors > 1 ? 's' : ''}</span>` : ''}</div>
<form class="compare-with" method="get" action="/compare"><input type="hidden" name="a" value="${escapeHtml(traceId)}"><label>compare with trace <input type="text" name="b" placeholder="another trace id" autocomplete="off" size="34"></label> <button type="submit">Compare</button></form>
<div class="legend">${[...colours].map(([service, colour]) => `<span class="chip"><i style="background:${colour}"></i>${escapeHtml(service)}</span>`).join('')}</div>
${flying}
<details class="path"><summary>Critical path: ${duration(path.totalMs)} (black line under the bars; waits in Kafka count for the station that drains the queue)</summary>
<table><tr><th>stage</th><th>station</th><th>time</th><th>share</th></tr>${cpRows}</table></details>
<div class="controls">${followers ? `<label><input type="checkbox" id="hide-followers"> hide the followers' <code>process orders.status</code> spans (${followers})</label>` : ''}
<span><i class="key" style="background:repeating-linear-gradient(135deg,#d9822b 0 4px,#f5d0a9 4px 8px)"></i>waiting in Kafka</span><span><i class="key" style="height:3px;background:#111"></i>critical path</span>
<span class="muted">Enter or click on a span: details; ↑ ↓ move between spans</span></div></header>
<nav class="tabs"><a href="#waterfall">Waterfall</a><a href="#graph">Graph</a></nav>
<section id="graph" class="tab graph-tab" aria-label="trace graph">${renderTraceGraph(spans, colours)}</section>
<section id="waterfall" class="tab waterfall-tab">
<div class="waterfall" role="list">
<div class="row axis" aria-hidden="true"><div class="label"></div><div class="lane">${ticks}</div></div>
${rowHtml}
</div></section>
<script type="application/json" id="span-data">${scriptJson(data)}</script>`;
  return htmlPage(`${root.name} — trace ${traceId}`, body, { style: TRACE_STYLE, script: TRACE_SCRIPT.source });
}
