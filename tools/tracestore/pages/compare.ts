import { comparisonSentence, compareTraces, signedMs } from '../../traces/compare-traces.ts';
import type { TraceSide } from '../../traces/compare-traces.ts';
import { formatShare } from '../../traces/format.ts';
import { escapeHtml } from '../../traces/html.ts';
import type { FlatSpan } from '../../traces/otlp.ts';
import { LIST_STYLE, TRACE_STYLE } from './assets.ts';
import { duration, htmlPage } from './layout.ts';

const TRACE_ID = /^[0-9a-f]{32}$/i;

/** The form that asks for the two traces, filled with what was given. */
const form = (a = '', b = '') => `<form class="search" method="get" action="/compare">
<label>trace A<input type="text" name="a" value="${escapeHtml(a)}" placeholder="32 hex digits" autocomplete="off"></label>
<label>trace B<input type="text" name="b" value="${escapeHtml(b)}" placeholder="32 hex digits" autocomplete="off"></label>
<button type="submit">Compare</button></form>`;

const traceLink = (side: TraceSide, label: string) =>
  `<a href="/trace/${escapeHtml(side.traceId)}">${label}: ${escapeHtml(side.rootName)} <code>${escapeHtml(side.traceId)}</code></a>`;

/** One trace's critical path as an ordered list of its sections, in time order. */
function pathList(side: TraceSide, label: string): string {
  const items = side.path.sections
    .map(
      (s) =>
        `<li><span>${escapeHtml(s.stage)}</span> <span class="muted">${s.station}</span> <span class="num">${duration(s.endMs - s.startMs)}</span></li>`,
    )
    .join('');
  return `<section class="side"><h2>${traceLink(side, label)}</h2><p>critical path ${duration(side.path.totalMs)}</p><ol class="path">${items}</ol></section>`;
}

/**
 * /compare?a=…&b=…: two traces by latency, stage by stage (the report's stages and the waits in Kafka, as each held
 * the order up), with the difference and the stage that made it, then each critical path.
 */
export function renderComparePage(
  ids: { a?: string; b?: string },
  traceOf: (traceId: string) => FlatSpan[],
): { status: number; html: string } {
  const nav = `<nav class="top"><a href="/">← all traces</a><strong>Compare two traces</strong></nav>`;
  const { a = '', b = '' } = ids;
  const problems: string[] = [];
  const sideOf = (name: 'A' | 'B', id: string): FlatSpan[] => {
    if (!id) {
      problems.push(`give trace ${name}'s id`);
      return [];
    }
    if (!TRACE_ID.test(id)) {
      problems.push(`trace ${name}: "${id}" is not a trace id (32 hex digits)`);
      return [];
    }
    const spans = traceOf(id.toLowerCase());
    if (spans.length === 0) problems.push(`trace ${name}: no span of ${id} is kept`);
    return spans;
  };
  const sides = [sideOf('A', a), sideOf('B', b)];
  if (problems.length > 0) {
    const body = `${nav}<h1>Compare two traces</h1>${form(a, b)}<ul class="problem">${problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`;
    return { status: a || b ? 400 : 200, html: htmlPage('Compare two traces', body, { style: LIST_STYLE }) };
  }
  const comparison = compareTraces(sides[0]!, sides[1]!);
  const rows = comparison.stages
    .map((s) => {
      const share =
        comparison.decisive && s === comparison.decisive
          ? ' class="decisive" title="the stage that made the difference"'
          : '';
      return `<tr${share}><td>${escapeHtml(s.stage)}</td><td>${s.station}</td><td class="num">${duration(s.aMs)}</td><td class="num">${duration(s.bMs)}</td><td class="num">${signedMs(s.diffMs)}</td></tr>`;
    })
    .join('');
  const total = comparison.b.path.totalMs - comparison.a.path.totalMs;
  const body = `${nav}<h1>${traceLink(comparison.a, 'A')} <span class="muted">against</span> ${traceLink(comparison.b, 'B')}</h1>
<p class="verdict">${escapeHtml(comparisonSentence(comparison))}</p>
<table class="traces compare"><thead><tr><th>stage on the critical path</th><th>station</th><th>A</th><th>B</th><th>B − A</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><th>critical path</th><th></th><th class="num">${duration(comparison.a.path.totalMs)}</th><th class="num">${duration(comparison.b.path.totalMs)}</th><th class="num">${signedMs(total)}</th></tr></tfoot></table>
<p class="muted">Each stage is the time it held the order up (its share of the critical path; waits in Kafka count for the
station that drains the queue), so each column adds up to its trace's critical path.${comparison.decisive ? ` The marked row is ${formatShare(Math.min(1, Math.abs(comparison.decisive.diffMs) / Math.abs(total)))} of the difference.` : ''}</p>
<div class="sides">${pathList(comparison.a, 'A')}${pathList(comparison.b, 'B')}</div>
<h2>Compare others</h2>${form(a, b)}`;
  return { status: 200, html: htmlPage(`Compare ${a} with ${b}`, body, { style: `${LIST_STYLE}${TRACE_STYLE}` }) };
}
