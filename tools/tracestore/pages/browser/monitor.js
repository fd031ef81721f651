// @ts-check
// The live monitor's only script: it follows /monitor/events (server-sent events), keeps the last five minutes of
// 1 s buckets per stage, queue and consumer group, and redraws the tables each second. Names and figures are only
// ever set with textContent.
(() => {
  /**
   * @typedef {{ t: number, n: number, e: number, p50: number, p95: number, p99: number }} Bucket
   * @typedef {{ t: number, lag: number }} LagPoint
   * @typedef {{ now: number, series: Record<string, Bucket[]>, lag: Record<string, LagPoint[]>, lagNote?: string, verdict?: string }} Snapshot
   */
  const run = JSON.parse(document.getElementById('monitor-run')?.textContent ?? '""');
  /** @type {Map<string, Map<number, Bucket>>} */
  const series = new Map();
  /** @type {Map<string, LagPoint[]>} */
  const lags = new Map();
  const verdict = document.getElementById('verdict');
  const status = document.getElementById('status');
  const lagNote = document.getElementById('lag-note');
  const seriesBody = document.querySelector('#series tbody');
  const lagBody = document.querySelector('#lag tbody');
  if (!verdict || !status || !lagNote || !seriesBody || !lagBody) return;

  /** @param {number} x */
  const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);

  /**
   * @param {number[]} a
   * @param {number[]} [b]
   */
  function spark(a, b) {
    const canvas = document.createElement('canvas');
    const [width, height] = [300, 28];
    canvas.width = width;
    canvas.height = height;
    canvas.className = 'spark';
    const g = canvas.getContext('2d');
    if (!g) return canvas;
    for (const [values, colour] of /** @type {Array<[number[] | undefined, string]>} */ ([
      [a, '#3b6ea5'],
      [b, '#d9822b'],
    ])) {
      if (!values) continue;
      const top = Math.max(1e-9, ...values);
      g.strokeStyle = colour;
      g.beginPath();
      values.forEach((v, i) => {
        const x = (i / Math.max(1, values.length - 1)) * (width - 2) + 1;
        const y = height - 2 - (v / top) * (height - 4);
        if (i === 0) g.moveTo(x, y);
        else g.lineTo(x, y);
      });
      g.stroke();
    }
    return canvas;
  }

  /** @param {Array<string | Node>} cells */
  function row(cells) {
    const tr = document.createElement('tr');
    cells.forEach((cell, i) => {
      const td = document.createElement('td');
      if (i > 0 && typeof cell === 'string') td.className = 'num';
      td.append(cell);
      tr.append(td);
    });
    return tr;
  }

  /** @param {Snapshot} snapshot */
  function take(snapshot) {
    for (const [key, buckets] of Object.entries(snapshot.series)) {
      const known = series.get(key) ?? new Map();
      for (const b of buckets) known.set(b.t, b);
      series.set(key, known);
    }
    for (const [key, points] of Object.entries(snapshot.lag)) {
      const known = (lags.get(key) ?? []).filter((p) => !points.some((q) => q.t === p.t));
      lags.set(
        key,
        [...known, ...points].sort((x, y) => x.t - y.t),
      );
    }
    const nowS = Math.floor(snapshot.now / 1000);
    const from = nowS - 300;
    /** @type {HTMLElement[]} */
    const rows = [];
    for (const key of [...series.keys()].sort()) {
      const known = /** @type {Map<number, Bucket>} */ (series.get(key));
      for (const t of known.keys()) if (t < from) known.delete(t);
      const seconds = Array.from({ length: 301 }, (_, i) => known.get(from + i));
      const recent = seconds.slice(-5).filter((b) => b !== undefined);
      const n = recent.reduce((sum, b) => sum + b.n, 0);
      const e = recent.reduce((sum, b) => sum + b.e, 0);
      const worst = (/** @type {'p50' | 'p95' | 'p99'} */ p) => Math.max(0, ...recent.map((b) => b[p]));
      rows.push(
        row([
          key,
          `${(n / 5).toFixed(1)}/s`,
          n ? `${((e / n) * 100).toFixed(1)}%` : '—',
          n ? ms(worst('p50')) : '—',
          n ? ms(worst('p95')) : '—',
          n ? ms(worst('p99')) : '—',
          spark(
            seconds.map((b) => b?.n ?? 0),
            seconds.map((b) => b?.p95 ?? 0),
          ),
        ]),
      );
    }
    seriesBody?.replaceChildren(...rows);
    lagBody?.replaceChildren(
      ...[...lags].map(([key, points]) =>
        row([key, String(points.at(-1)?.lag ?? '—'), spark(points.map((p) => p.lag))]),
      ),
    );
    if (lagNote) lagNote.textContent = snapshot.lagNote ?? '';
    if (verdict && snapshot.verdict) verdict.textContent = snapshot.verdict;
    if (status) {
      status.textContent = `updated ${new Date(snapshot.now).toISOString().slice(11, 19)} UTC`;
      status.dataset.now = String(snapshot.now);
    }
  }

  const events = new EventSource(`/monitor/events${run ? `?run=${encodeURIComponent(run)}` : ''}`);
  events.onmessage = (message) => take(JSON.parse(message.data));
  events.onerror = () => {
    if (status) status.textContent = 'disconnected; retrying…';
  };
})();
