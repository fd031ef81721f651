// @ts-check
// The trace list's only script: the duration scatter. Each trace a dot at (start, duration), coloured by its root
// service, errors ringed in red. A click opens the nearest trace; a drag across time narrows the search to it (a URL
// to share); ← → pick a dot and Enter opens it. The list below holds the same traces as text.
(() => {
  /**
   * @typedef {{
   *   t: number[], d: number[], s: number[], e: number[], id: string[], services: string[], colours: string[],
   *   from?: number, to?: number
   * }} Dots
   */
  const found = /** @type {HTMLCanvasElement | null} */ (document.getElementById('scatter'));
  const source = document.getElementById('dots');
  const said = document.getElementById('scatter-said');
  if (!found || !source || !said) return;
  const canvas = found;
  /** @type {Dots} */
  const dots = JSON.parse(source.textContent ?? '{}');
  const n = dots.t.length;
  const PAD = { left: 56, right: 10, top: 8, bottom: 22 };
  let [t0, t1] = [dots.from ?? Infinity, dots.to ?? -Infinity];
  let dMax = 0;
  for (let i = 0; i < n; i++) {
    const t = /** @type {number} */ (dots.t[i]);
    if (dots.from === undefined && t < t0) t0 = t;
    if (dots.to === undefined && t > t1) t1 = t;
    dMax = Math.max(dMax, /** @type {number} */ (dots.d[i]));
  }
  if (!(t1 > t0)) [t0, t1] = [t0 - 500, t0 + 500];
  dMax = dMax * 1.05 || 1;

  /** @param {number} x */
  const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
  /** @param {number} t */
  const clock = (t) => new Date(t).toISOString().slice(11, 23);
  let width = 0;
  const height = 220;
  /** @param {number} t */
  const xOf = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (width - PAD.left - PAD.right);
  /** @param {number} d */
  const yOf = (d) => height - PAD.bottom - (d / dMax) * (height - PAD.top - PAD.bottom);
  /** @param {number} x */
  const timeAt = (x) => t0 + ((x - PAD.left) / (width - PAD.left - PAD.right)) * (t1 - t0);
  let selected = -1;
  /** @type {[number, number] | undefined} */
  let dragging;

  function paint() {
    const started = performance.now();
    width = canvas.clientWidth;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    g.fillStyle = '#59636e';
    g.strokeStyle = '#d0d7de';
    g.font = '11px system-ui, sans-serif';
    for (let k = 0; k <= 4; k++) {
      const y = yOf((dMax * k) / 4);
      g.fillText(ms((dMax * k) / 4), 2, y + 4);
      g.beginPath();
      g.moveTo(PAD.left, y);
      g.lineTo(width - PAD.right, y);
      g.stroke();
    }
    for (let k = 0; k <= 4; k++) {
      const t = t0 + ((t1 - t0) * k) / 4;
      g.fillText(clock(t), Math.min(xOf(t) - (k ? 30 : 0), width - 70), height - 6);
    }
    // One path per colour: tens of thousands of dots stay one fill call per service.
    for (let c = 0; c < dots.services.length; c++) {
      g.fillStyle = dots.colours[c] ?? '#6b7280';
      g.beginPath();
      for (let i = 0; i < n; i++) {
        if (dots.s[i] !== c) continue;
        const x = xOf(/** @type {number} */ (dots.t[i]));
        const y = yOf(/** @type {number} */ (dots.d[i]));
        g.moveTo(x + 2.5, y);
        g.arc(x, y, 2.5, 0, 2 * Math.PI);
      }
      g.fill();
    }
    g.strokeStyle = '#b42318';
    g.lineWidth = 1.5;
    g.beginPath();
    for (let i = 0; i < n; i++) {
      if (!dots.e[i]) continue;
      const x = xOf(/** @type {number} */ (dots.t[i]));
      const y = yOf(/** @type {number} */ (dots.d[i]));
      g.moveTo(x + 4.5, y);
      g.arc(x, y, 4.5, 0, 2 * Math.PI);
    }
    g.stroke();
    if (selected >= 0) {
      g.strokeStyle = '#111';
      g.lineWidth = 2;
      g.beginPath();
      g.arc(
        xOf(/** @type {number} */ (dots.t[selected])),
        yOf(/** @type {number} */ (dots.d[selected])),
        6,
        0,
        2 * Math.PI,
      );
      g.stroke();
    }
    if (dragging) {
      g.fillStyle = 'rgba(11, 87, 208, 0.15)';
      g.fillRect(Math.min(...dragging), PAD.top, Math.abs(dragging[1] - dragging[0]), height - PAD.top - PAD.bottom);
    }
    canvas.dataset.paintMs = (performance.now() - started).toFixed(1);
    canvas.dataset.dots = String(n);
  }

  /** @param {number} i */
  const describe = (i) =>
    `${dots.services[/** @type {number} */ (dots.s[i])]} · ${ms(/** @type {number} */ (dots.d[i]))} · started ${clock(/** @type {number} */ (dots.t[i]))} UTC${dots.e[i] ? ' · error' : ''} · trace ${dots.id[i]}`;

  /** @param {MouseEvent} event */
  const pointer = (event) => {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  /** @param {number} x @param {number} y */
  function nearest(x, y) {
    let [best, bestDistance] = [-1, 64];
    for (let i = 0; i < n; i++) {
      const dx = xOf(/** @type {number} */ (dots.t[i])) - x;
      const dy = yOf(/** @type {number} */ (dots.d[i])) - y;
      if (dx * dx + dy * dy < bestDistance) [best, bestDistance] = [i, dx * dx + dy * dy];
    }
    return best;
  }
  /** @param {number} i */
  const open = (i) => {
    window.location.href = `/trace/${encodeURIComponent(/** @type {string} */ (dots.id[i]))}`;
  };

  canvas.addEventListener('mousedown', (event) => {
    const [x] = pointer(event);
    dragging = [/** @type {number} */ (x), /** @type {number} */ (x)];
  });
  canvas.addEventListener('mousemove', (event) => {
    const [x, y] = pointer(event);
    if (dragging) {
      dragging[1] = /** @type {number} */ (x);
      paint();
      return;
    }
    const i = nearest(/** @type {number} */ (x), /** @type {number} */ (y));
    canvas.style.cursor = i >= 0 ? 'pointer' : 'crosshair';
    canvas.title = i >= 0 ? describe(i) : 'drag across a time span to narrow the search to it';
  });
  canvas.addEventListener('mouseup', (event) => {
    const [x, y] = pointer(event);
    const span = dragging;
    dragging = undefined;
    if (span && Math.abs(span[1] - span[0]) > 6) {
      // Narrowing is a new search: a URL that holds the filters and the time span, for sharing.
      const params = new URLSearchParams(window.location.search);
      params.set('from', String(Math.floor(timeAt(Math.min(...span)))));
      params.set('to', String(Math.ceil(timeAt(Math.max(...span)))));
      params.delete('page');
      window.location.search = params.toString();
      return;
    }
    paint();
    const i = nearest(/** @type {number} */ (x), /** @type {number} */ (y));
    if (i >= 0) open(i);
  });
  canvas.addEventListener('keydown', (event) => {
    if (n === 0) return;
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      // Dots come newest first: → goes forward in time.
      selected = selected < 0 ? 0 : (selected + (event.key === 'ArrowRight' ? n - 1 : 1)) % n;
      said.textContent = describe(selected);
      paint();
      event.preventDefault();
    } else if (event.key === 'Enter' && selected >= 0) open(selected);
  });
  window.addEventListener('resize', paint);
  paint();
})();
