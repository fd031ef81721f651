// @ts-check
// The trace page's only script: details on click or Enter (buttons get both), arrow keys between spans, the followers
// toggle. Span data comes as JSON and is only ever shown with textContent, never as markup.
(() => {
  /**
   * @typedef {{ name: string, offset: number, attributes: Record<string, unknown> }} SpanEvent
   * @typedef {{ traceId: string, spanId: string }} SpanLink
   * @typedef {{
   *   spanId: string, parent?: string, name: string, service: string, kind: string, offset: number, dur: number,
   *   self: number, wait?: string, status: { code: string, message?: string }, attributes: Record<string, unknown>,
   *   events: SpanEvent[], links: SpanLink[], jumps: Array<{ label: string, href: string }>
   * }} SpanData
   */

  /** @type {SpanData[]} */
  const data = JSON.parse(document.getElementById('span-data')?.textContent ?? '[]');

  /**
   * @param {string} tag
   * @param {string} [text]
   * @param {string} [cls]
   */
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };

  /** @param {Array<[string, unknown]>} pairs */
  const table = (pairs) => {
    const t = document.createElement('table');
    for (const [k, v] of pairs) {
      const tr = t.insertRow();
      tr.insertCell().textContent = k;
      tr.insertCell().textContent = typeof v === 'string' ? v : JSON.stringify(v);
    }
    return t;
  };

  /** @param {number} x */
  const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(3)} s` : `${x.toFixed(3)} ms`);

  /** @param {SpanData} d */
  function detailOf(d) {
    const box = el('div', undefined, 'detail');
    box.setAttribute('role', 'region');
    box.setAttribute('aria-label', `details of ${d.name}`);
    /** @type {Array<[string, unknown]>} */
    const facts = [
      ['span', d.name],
      ['service', d.service],
      ['kind', d.kind],
      ['span id', d.spanId],
      ['parent', d.parent || '—'],
      ['start', `+${ms(d.offset)}`],
      ['duration', ms(d.dur)],
      ['self time', ms(d.self)],
    ];
    if (d.wait) facts.push(['waited in Kafka', d.wait]);
    facts.push(['status', d.status.code + (d.status.message ? `: ${d.status.message}` : '')]);
    box.append(table(facts));
    box.append(el('h3', `Attributes (${Object.keys(d.attributes).length})`), table(Object.entries(d.attributes)));
    box.append(el('h3', `Events (${d.events.length})`));
    for (const e of d.events) {
      box.append(el('div', `+${ms(e.offset)}  ${e.name}`));
      box.append(table(Object.entries(e.attributes)));
    }
    if (d.jumps.length > 0) {
      // Across Kafka: the consumers of this producer's message, or this consumer's producer, here or in another trace.
      box.append(el('h3', d.kind === 'producer' ? 'Consumed by' : 'Produced by'));
      for (const jump of d.jumps) {
        const a = /** @type {HTMLAnchorElement} */ (el('a', jump.label));
        a.href = jump.href;
        const line = el('div');
        line.append(a);
        box.append(line);
      }
    }
    box.append(el('h3', `Links (${d.links.length})`));
    for (const l of d.links) {
      const a = /** @type {HTMLAnchorElement} */ (el('a', `${l.traceId} / ${l.spanId}`));
      if (/^[0-9a-f]{32}$/.test(l.traceId)) a.href = `/trace/${l.traceId}`;
      const line = el('div');
      line.append(a);
      box.append(line);
    }
    return box;
  }

  /** @param {HTMLElement} row */
  function toggle(row) {
    const button = row.querySelector('button.name');
    const open = row.querySelector('.detail');
    if (open) {
      open.remove();
      row.classList.remove('selected');
      button?.setAttribute('aria-expanded', 'false');
      return;
    }
    const span = data[Number(row.dataset.i)];
    if (!span) return;
    row.append(detailOf(span));
    row.classList.add('selected');
    button?.setAttribute('aria-expanded', 'true');
  }

  const waterfall = document.querySelector('.waterfall');
  waterfall?.addEventListener('click', (e) => {
    const button = e.target instanceof Element ? e.target.closest('button.name') : null;
    const row = button?.closest('.row');
    if (row instanceof HTMLElement) toggle(row);
  });
  waterfall?.addEventListener('keydown', (e) => {
    if (!(e instanceof KeyboardEvent) || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) return;
    const all = [...document.querySelectorAll('.row:not(.axis) button.name')].filter(
      (b) => b instanceof HTMLElement && b.offsetParent !== null,
    );
    const i = document.activeElement ? all.indexOf(document.activeElement) : -1;
    if (i < 0) return;
    const next = all[i + (e.key === 'ArrowDown' ? 1 : -1)];
    if (next instanceof HTMLElement) {
      next.focus();
      e.preventDefault();
    }
  });

  // #span-<id> (a jump from another span or trace): show that span, with its details open.
  function showTarget() {
    const match = /^#span-([0-9a-f]{16})$/i.exec(window.location.hash);
    const row = match ? document.getElementById(`span-${match[1]}`) : null;
    if (!(row instanceof HTMLElement)) return;
    if (row.classList.contains('follower') && hide instanceof HTMLInputElement && hide.checked) {
      hide.checked = false;
      document.body.classList.remove('hide-followers');
    }
    if (!row.querySelector('.detail')) toggle(row);
    row.scrollIntoView({ block: 'center' });
    const button = row.querySelector('button.name');
    if (button instanceof HTMLElement) button.focus({ preventScroll: true });
  }
  window.addEventListener('hashchange', showTarget);

  const hide = document.getElementById('hide-followers');
  if (hide instanceof HTMLInputElement) {
    const apply = () => document.body.classList.toggle('hide-followers', hide.checked);
    hide.addEventListener('change', apply);
    apply();
  }
  showTarget();
})();
