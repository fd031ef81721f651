import { createHash } from 'node:crypto';
import { isFollowerSpan, orderState, selfTime, traceCriticalPath } from '../../traces/analysis.ts';
import { spokenDuration } from '../../traces/format.ts';
import { escapeHtml } from '../../traces/html.ts';
import type { FlatSpan } from '../../traces/otlp.ts';
import { childrenByParent, rootOf, topicOf } from '../../traces/tree.ts';
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

const TRACE_STYLE = `header.trace{margin-bottom:10px}.facts{display:flex;flex-wrap:wrap;gap:4px 16px;margin:4px 0}.legend{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}
.chip{display:inline-flex;align-items:center;gap:4px}.chip i{display:inline-block;width:12px;height:12px;border-radius:2px}
.note{padding:8px 10px;background:#fff4e0;border-left:4px solid #d9822b;margin:8px 0}details.path{margin:8px 0}details.path table{border-collapse:collapse}
details.path td,details.path th{padding:2px 10px 2px 0;text-align:left}details.path td.num{text-align:right}
.controls{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;margin:8px 0}
.key{display:inline-block;width:22px;height:10px;vertical-align:middle;margin-right:3px}
.waterfall{border-top:1px solid #d0d7de}.row{display:grid;grid-template-columns:minmax(180px,34%) 1fr;border-bottom:1px solid #eef0f2}
.row:not(.axis){content-visibility:auto;contain-intrinsic-size:auto 35px}
.row.axis{position:sticky;top:0;background:#fff;z-index:2;border-bottom:1px solid #d0d7de}.row.axis .lane{height:20px}
.tick{position:absolute;top:3px;font-size:11px;color:#59636e;white-space:nowrap}.tick.end{transform:translateX(-100%)}
.label{display:flex;align-items:center;gap:4px;min-width:0;padding:2px 4px 2px 0;border-right:1px solid #eef0f2}
.label button.name{flex:1 1 auto;min-width:0;display:flex;gap:4px;align-items:center;background:none;border:0;padding:2px;text-align:left;cursor:pointer;color:inherit}
.label button.name span.n{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.label .d{font-size:11px;color:#59636e;white-space:nowrap}
.swatch{flex:none;width:4px;align-self:stretch;border-radius:2px}.kind{flex:none;font-size:10px;text-transform:uppercase;padding:0 3px;border:1px solid #8c959f;border-radius:3px;color:#424a53}
.errtag{flex:none;font-size:10px;color:#fff;background:#b42318;border-radius:3px;padding:0 3px}
.lane{position:relative;height:34px;min-width:0;overflow:hidden}.meta.right{text-align:right}
.bar{position:absolute;top:5px;height:12px;min-width:1px;border-radius:2px}.row.error .bar{outline:2px solid #b42318}
.wait{position:absolute;top:5px;height:12px;background:repeating-linear-gradient(135deg,#d9822b 0 4px,#f5d0a9 4px 8px);opacity:.9}
.crit{position:absolute;top:18px;height:3px;background:#111}
.meta{position:absolute;top:21px;font-size:11px;color:#424a53;white-space:nowrap}
.row.selected{background:#eef4ff}.detail{grid-column:1/-1;padding:8px 10px;background:#f6f8fa;border-top:1px solid #d0d7de;overflow-wrap:anywhere}
.detail table{border-collapse:collapse;width:100%}.detail td{padding:2px 8px 2px 0;vertical-align:top;font:12px ui-monospace,monospace}
.detail td:first-child{color:#59636e;width:30%}.detail h3{font-size:13px;margin:8px 0 4px}
body.hide-followers .row.follower{display:none}
@media (max-width:700px){.row{grid-template-columns:1fr}.row.axis .label{display:none}.label{border-right:0}.lane{height:30px}.meta{top:19px}}`;

// The page's only script: details on click or Enter (buttons get both), arrow keys between spans, the followers toggle.
const TRACE_SCRIPT = `(() => {
const data = JSON.parse(document.getElementById('span-data').textContent);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
const table = (pairs) => { const t = el('table'); for (const [k, v] of pairs) { const tr = t.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = typeof v === 'string' ? v : JSON.stringify(v); } return t; };
const ms = (x) => x >= 1000 ? (x / 1000).toFixed(3) + ' s' : x.toFixed(3) + ' ms';
function detailOf(d) {
  const box = el('div', undefined, 'detail'); box.setAttribute('role', 'region'); box.setAttribute('aria-label', 'details of ' + d.name);
  box.append(table([['span', d.name], ['service', d.service], ['kind', d.kind], ['span id', d.spanId], ['parent', d.parent || '—'],
    ['start', '+' + ms(d.offset)], ['duration', ms(d.dur)], ['self time', ms(d.self)], ...(d.wait ? [['waited in Kafka', d.wait]] : []),
    ['status', d.status.code + (d.status.message ? ': ' + d.status.message : '')]]));
  box.append(el('h3', 'Attributes (' + Object.keys(d.attributes).length + ')'), table(Object.entries(d.attributes)));
  box.append(el('h3', 'Events (' + d.events.length + ')'));
  for (const e of d.events) { box.append(el('div', '+' + ms(e.offset) + '  ' + e.name)); box.append(table(Object.entries(e.attributes))); }
  box.append(el('h3', 'Links (' + d.links.length + ')'));
  for (const l of d.links) { const a = el('a', l.traceId + ' / ' + l.spanId); if (/^[0-9a-f]{32}$/.test(l.traceId)) a.href = '/trace/' + l.traceId; const line = el('div'); line.append(a); box.append(line); }
  return box;
}
function toggle(row) {
  const button = row.querySelector('button.name');
  const open = row.querySelector('.detail');
  if (open) { open.remove(); row.classList.remove('selected'); button.setAttribute('aria-expanded', 'false'); return; }
  row.append(detailOf(data[row.dataset.i])); row.classList.add('selected'); button.setAttribute('aria-expanded', 'true');
}
document.querySelector('.waterfall').addEventListener('click', (e) => { const b = e.target.closest('button.name'); if (b) toggle(b.closest('.row')); });
document.querySelector('.waterfall').addEventListener('keydown', (e) => {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  const all = [...document.querySelectorAll('.row:not(.axis) button.name')].filter((b) => b.offsetParent !== null);
  const i = all.indexOf(document.activeElement); if (i < 0) return;
  const next = all[i + (e.key === 'ArrowDown' ? 1 : -1)]; if (next) { next.focus(); e.preventDefault(); }
});
const hide = document.getElementById('hide-followers');
const apply = () => document.body.classList.toggle('hide-followers', hide.checked);
hide.addEventListener('change', apply); apply();
})();`;

/** The script's hash, for the pages' Content-Security-Policy: that script runs, no other. */
export const TRACE_SCRIPT_HASH = `sha256-${createHash('sha256').update(TRACE_SCRIPT).digest('base64')}`;

const pct = (x: number) => `${(x * 100).toFixed(4)}%`;

/** One trace as a waterfall: a bar per span on one time axis, Kafka waits as segments of their own, the critical path marked. */
export function renderTracePage(traceId: string, spans: FlatSpan[]): string {
  if (spans.length === 0) {
    return htmlPage(
      'Trace not found',
      `<nav class="top"><a href="/">← all traces</a></nav><h1>Trace not found</h1><p>No span of trace <code>${escapeHtml(traceId)}</code> is kept.</p>`,
    );
  }
  const rows = rowsOf(spans);
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
      return `<div class="${classes}" data-i="${i}" data-span="${escapeHtml(s.spanId)}" data-start="${(s.startMs - t0).toFixed(6)}" data-dur="${s.durationMs.toFixed(6)}">
<div class="label" style="padding-left:${Math.min(row.depth, 24) * 12}px"><i class="swatch" style="background:${colours.get(s.service)}"></i><button class="name" aria-expanded="false" title="${escapeHtml(`${s.name} — ${s.service}`)}"><span class="n">${escapeHtml(s.name)}</span></button>${kind ? `<span class="kind">${kind}</span>` : ''}${s.status.code === 'error' ? '<span class="errtag">error</span>' : ''}<span class="d">${duration(s.durationMs)}</span></div>
<div class="lane">${wait}<div class="bar" style="left:${pct(x(s.startMs))};width:${pct(s.durationMs / total)};background:${colours.get(s.service)}"></div>${(sectionsByRow.get(i) ?? []).join('')}<span class="meta${from < 0.5 ? '' : ' right'}" style="${metaAt}">${meta}</span></div></div>`;
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
<div class="legend">${[...colours].map(([service, colour]) => `<span class="chip"><i style="background:${colour}"></i>${escapeHtml(service)}</span>`).join('')}</div>
${flying}
<details class="path"><summary>Critical path: ${duration(path.totalMs)} (black line under the bars; waits in Kafka count for the station that drains the queue)</summary>
<table><tr><th>stage</th><th>station</th><th>time</th><th>share</th></tr>${cpRows}</table></details>
<div class="controls"><label><input type="checkbox" id="hide-followers"> hide the followers' <code>process orders.status</code> spans (${followers})</label>
<span><i class="key" style="background:repeating-linear-gradient(135deg,#d9822b 0 4px,#f5d0a9 4px 8px)"></i>waiting in Kafka</span><span><i class="key" style="height:3px;background:#111"></i>critical path</span>
<span class="muted">Enter or click on a span: details; ↑ ↓ move between spans</span></div></header>
<div class="waterfall" role="list">
<div class="row axis" aria-hidden="true"><div class="label"></div><div class="lane">${ticks}</div></div>
${rowHtml}
</div>
<script type="application/json" id="span-data">${scriptJson(data)}</script>`;
  return htmlPage(`${root.name} — trace ${traceId}`, body, { style: TRACE_STYLE, script: TRACE_SCRIPT });
}
