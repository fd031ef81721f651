import { LIST_SCRIPT, LIST_STYLE } from './assets.ts';
import { escapeHtml } from '../../traces/html.ts';
import type { TraceFilter, TraceSummary } from '../summaries.ts';
import { clock, duration, htmlPage, scriptJson, serviceColours } from './layout.ts';

export const PAGE_SIZE = 50;

/** The list's query string: what to filter by and which page. */
export interface ListQuery {
  filter: TraceFilter;
  page: number;
  /** Text of the minimum-duration field as typed, and why it was not understood. */
  minDuration?: string;
  problem?: string;
}

/** A time bound as typed: unix milliseconds (what the scatter writes) or a date and time (ISO 8601, UTC unless it says). */
function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d{10,}$/.test(text)) return Number(text);
  const parsed = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** "250ms", "1.5s", "2m" or a plain number of milliseconds. */
function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m)?\s*$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000 }[(match[2] ?? 'ms') as 'ms'];
}

/** Reads the list's filters from the URL. */
export function listQueryOf(url: URL): ListQuery {
  const text = (name: string) => url.searchParams.get(name)?.trim() || undefined;
  const minDuration = text('minDuration');
  const minDurationMs = minDuration === undefined ? undefined : parseDuration(minDuration);
  const page = Math.max(1, Math.min(1_000_000, Math.floor(Number(text('page') ?? 1)) || 1));
  return {
    filter: {
      service: text('service'),
      operation: text('operation'),
      orderId: text('order'),
      runId: text('run'),
      minDurationMs,
      errorsOnly: text('errors') === '1',
      fromMs: parseTime(text('from')),
      toMs: parseTime(text('to')),
    },
    page,
    minDuration,
    problem:
      [
        minDuration !== undefined && minDurationMs === undefined
          ? `minimum duration "${minDuration}" is not a duration (try 250ms, 1.5s, 2m); not applied`
          : '',
        ...(['from', 'to'] as const).map((name) =>
          text(name) !== undefined && parseTime(text(name)) === undefined
            ? `"${name}" is not a time (unix milliseconds or 2026-12-05T10:30:00); not applied`
            : '',
        ),
      ]
        .filter(Boolean)
        .join('; ') || undefined,
  };
}

/** The trace list: filters, one row per trace (root operation, services, duration, spans, error, start), and pages. */
export function renderListPage(
  result: { total: number; traces: TraceSummary[]; matches: TraceSummary[] },
  query: ListQuery,
  choices: { services: string[]; operations: string[] },
  stats: { spans: number },
): string {
  const { filter, page } = query;
  const colours = serviceColours(choices.services);
  const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
  const link = (to: number) => {
    const params = new URLSearchParams();
    if (filter.service) params.set('service', filter.service);
    if (filter.operation) params.set('operation', filter.operation);
    if (filter.orderId) params.set('order', filter.orderId);
    if (filter.runId) params.set('run', filter.runId);
    if (query.minDuration) params.set('minDuration', query.minDuration);
    if (filter.errorsOnly) params.set('errors', '1');
    if (filter.fromMs !== undefined) params.set('from', String(filter.fromMs));
    if (filter.toMs !== undefined) params.set('to', String(filter.toMs));
    if (to > 1) params.set('page', String(to));
    return escapeHtml(`/?${params}`);
  };
  const longest = Math.max(1e-3, ...result.traces.map((t) => t.durationMs));
  const rows = result.traces
    .map((t) => {
      const chips = t.services
        .map((s) => `<span class="svc" style="background:${colours.get(s) ?? '#6b7280'}">${escapeHtml(s)}</span>`)
        .join('');
      return `<tr><td data-label="root"><a class="root" href="/trace/${escapeHtml(encodeURIComponent(t.traceId))}">${escapeHtml(t.rootName)}</a><div class="muted mono">${escapeHtml(t.rootService)} · ${escapeHtml(t.traceId)}</div></td>
<td data-label="services">${chips}</td><td class="num" data-label="duration">${duration(t.durationMs)}<div class="dbar" style="width:${((t.durationMs / longest) * 100).toFixed(2)}%"></div></td>
<td class="num" data-label="spans">${t.spanCount}</td><td data-label="error">${t.error ? '<span class="err-mark" title="a span has status ERROR">error</span>' : ''}</td><td class="num" data-label="start">${clock(t.startMs)}</td></tr>`;
    })
    .join('\n');
  const input = (name: string, label: string, value: string | undefined, extra = '') =>
    `<label>${label}<input type="text" name="${name}" value="${escapeHtml(value ?? '')}" ${extra}></label>`;
  const options = ['', ...choices.services]
    .map(
      (s) =>
        `<option value="${escapeHtml(s)}"${s === (filter.service ?? '') ? ' selected' : ''}>${s ? escapeHtml(s) : 'any service'}</option>`,
    )
    .join('');
  const from = result.total === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
  const pager = `<div class="pager"><span>${from}–${(page - 1) * PAGE_SIZE + result.traces.length} of ${result.total} traces (page ${page} of ${pages})</span>
${page > 1 ? `<a rel="prev" href="${link(page - 1)}">← newer</a>` : ''}${page < pages ? `<a rel="next" href="${link(page + 1)}">older →</a>` : ''}</div>`;
  const body = `<nav class="top"><strong>ITuna traces</strong><span class="muted">${stats.spans} spans kept · newest first</span><a href="/map${filter.runId ? `?run=${escapeHtml(encodeURIComponent(filter.runId))}` : ''}">service map</a><a href="/monitor${filter.runId ? `?run=${escapeHtml(encodeURIComponent(filter.runId))}` : ''}">live monitor</a><a href="/compare">compare two traces</a><a href="/api/v3/services">api/v3</a></nav>
<h1>Traces</h1>
<form class="search" method="get" action="/">
<label>service<select name="service">${options}</select></label>
${input('operation', 'operation', filter.operation, 'list="operations" autocomplete="off"')}
<datalist id="operations">${choices.operations.map((o) => `<option value="${escapeHtml(o)}">`).join('')}</datalist>
${input('order', 'order id (ituna.order.id)', filter.orderId)}
${input('run', 'run id (ituna.run.id)', filter.runId)}
${input('minDuration', 'min duration', query.minDuration, 'placeholder="250ms, 1.5s" inputmode="decimal"')}
${input('from', 'from (UTC)', filter.fromMs === undefined ? undefined : new Date(filter.fromMs).toISOString(), 'placeholder="2026-12-05T10:30:00"')}
${input('to', 'to (UTC)', filter.toMs === undefined ? undefined : new Date(filter.toMs).toISOString())}
<label class="check"><input type="checkbox" name="errors" value="1"${filter.errorsOnly ? ' checked' : ''}> errors only</label>
<button type="submit">Search</button> <a href="/">clear</a>
</form>
${query.problem ? `<p class="problem">${escapeHtml(query.problem)}</p>` : ''}
${scatterOf(result.matches, colours, filter)}
${pager}
<table class="traces"><thead><tr><th>root operation</th><th>services</th><th>duration</th><th>spans</th><th>error</th><th>start</th></tr></thead>
<tbody>${rows || '<tr><td colspan="6">No trace matches.</td></tr>'}</tbody></table>
${result.total > PAGE_SIZE ? pager : ''}`;
  return htmlPage('ITuna traces', body, { style: LIST_STYLE, script: LIST_SCRIPT.source });
}

/** The duration scatter of every matching trace, as columns of numbers the list's script draws on a canvas. */
function scatterOf(matches: TraceSummary[], colours: Map<string, string>, filter: TraceFilter): string {
  const services = [...new Set(matches.map((m) => m.rootService))].sort();
  const serviceIndex = new Map(services.map((s, i) => [s, i]));
  const dots = {
    t: matches.map((m) => Math.round(m.startMs)),
    d: matches.map((m) => Math.round(m.durationMs * 100) / 100),
    s: matches.map((m) => serviceIndex.get(m.rootService)!),
    e: matches.map((m) => (m.error ? 1 : 0)),
    id: matches.map((m) => m.traceId),
    services,
    colours: services.map((s) => colours.get(s) ?? '#6b7280'),
    ...(filter.fromMs !== undefined ? { from: filter.fromMs } : {}),
    ...(filter.toMs !== undefined ? { to: filter.toMs } : {}),
  };
  const legend = services
    .map((s) => `<span class="chip"><i style="background:${colours.get(s) ?? '#6b7280'}"></i>${escapeHtml(s)}</span>`)
    .join('');
  return `<figure class="scatter"><canvas id="scatter" tabindex="0" role="img" aria-label="Duration of each of the ${matches.length} matching traces over time; the list below has the same traces as text. Left and right arrows pick a trace, Enter opens it." aria-describedby="scatter-said"></canvas>
<figcaption><span class="legend">${legend}<span class="chip"><i class="ring"></i>error</span></span><span class="muted">click a dot to open its trace · drag across a time span to narrow the search to it</span>
<span id="scatter-said" aria-live="polite"></span></figcaption></figure>
<script type="application/json" id="dots">${scriptJson(dots)}</script>`;
}
