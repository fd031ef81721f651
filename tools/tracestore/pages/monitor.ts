import { escapeHtml } from '../../traces/html.ts';
import { MONITOR_SCRIPT, LIST_STYLE } from './assets.ts';
import { htmlPage } from './layout.ts';

/** /monitor: the live view of the spans as they arrive; its script fills it from /monitor/events. */
export function renderMonitorPage(run: string, enabled: boolean): string {
  const body = `<nav class="top"><a href="/">← all traces</a><strong>Live monitor</strong><a href="/map${run ? `?run=${escapeHtml(encodeURIComponent(run))}` : ''}">service map</a></nav>
<h1>Live monitor${run ? ` — run ${escapeHtml(run)}` : ''}</h1>
<form class="search" method="get" action="/monitor"><label>run id (ituna.run.id)<input type="text" name="run" value="${escapeHtml(run)}" placeholder="every run"></label><button type="submit">Watch</button></form>
${
  enabled
    ? `<p class="verdict" id="verdict" aria-live="polite">Waiting for spans…</p>
<p class="muted" id="status">connecting…</p>
<h2>Stages and queues, last 5 minutes in 1 s buckets</h2>
<p class="muted">rate: spans per second over the last 5 s; p50/p95/p99 of their duration (of the wait, for a queue) in the last 5 s; the bars: rate (blue) and p95 (orange) second by second.</p>
<table class="traces monitor" id="series"><thead><tr><th>stage</th><th>rate</th><th>errors</th><th>p50</th><th>p95</th><th>p99</th><th>last 5 minutes</th></tr></thead><tbody></tbody></table>
<h2>Consumer lag</h2>
<p class="muted" id="lag-note"></p>
<table class="traces monitor" id="lag"><thead><tr><th>group on topic</th><th>lag now</th><th>last 5 minutes</th></tr></thead><tbody></tbody></table>
<script type="application/json" id="monitor-run">${JSON.stringify(run).replace(/</g, '\\u003c')}</script>`
    : '<p>This trace store runs without the live monitor.</p>'
}`;
  return htmlPage('ITuna live monitor', body, { style: LIST_STYLE, script: enabled ? MONITOR_SCRIPT.source : '' });
}
