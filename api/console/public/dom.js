// Building the page from data without ever parsing data as markup: every string goes in
// as a text node or an attribute value, never through innerHTML.

/**
 * An element. `attrs`: `class`, `on<event>` handlers, `dataset`, booleans (set when true),
 * anything else as an attribute. Children: nodes, strings (as text), null/false (skipped).
 * @param {string} tag @param {Record<string, unknown>} [attrs] @param {...unknown} children
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** @param {Node} parent @param {unknown[]} children */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces an element's children. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

const pillTone = {
  running: 'blue',
  in_progress: 'blue',
  dialling: 'blue',
  scheduled: 'grey',
  draft: 'grey',
  paused: 'amber',
  cancelling: 'amber',
  analysing: 'violet',
  completed: 'green',
  ended: 'green',
  cancelled: 'grey',
  stopped: 'red',
  failed: 'red',
};

/** A status as a coloured pill. */
export function pill(status) {
  const text = status ?? 'unknown';
  return h('span', { class: `pill pill-${pillTone[text] ?? 'grey'}`, dataset: { status: text } }, text.replaceAll('_', ' '));
}

/** What a list shows when it has nothing in it. */
export function empty(title, hint) {
  return h('div', { class: 'empty' }, h('div', { class: 'empty-title' }, title), hint ? h('div', { class: 'empty-hint' }, hint) : null);
}

/** A figure with its label, for the cards at the top of a page. */
export function stat(label, value, note) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), note ? h('div', { class: 'stat-note' }, note) : null);
}

/** A titled panel. */
export function panel(title, ...children) {
  return h('section', { class: 'panel' }, title ? h('h2', { class: 'panel-title' }, title) : null, ...children);
}

/** A progress bar (0-1) with a label. */
export function progress(fraction, label) {
  const bar = h('div', { class: 'progress-bar' });
  bar.style.width = `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(fraction * 100) }, h('div', { class: 'progress-track' }, bar), h('span', { class: 'progress-label' }, label));
}

/**
 * A table whose rows are kept by key across refreshes, so a poll does not rebuild rows a
 * user is about to click. `render(item)` returns the cells; a row is redrawn only when
 * its item changed.
 * @template T
 * @param {HTMLTableSectionElement} tbody @param {T[]} items @param {(item: T) => string} keyOf @param {(item: T) => Node[]} render
 */
export function syncRows(tbody, items, keyOf, render) {
  /** @type {Map<string, HTMLTableRowElement>} */
  const existing = new Map([...tbody.rows].map((r) => [r.dataset.key ?? '', r]));
  const rows = items.map((item) => {
    const key = keyOf(item);
    const snapshot = JSON.stringify(item);
    let row = existing.get(key);
    if (!row || row.dataset.snapshot !== snapshot) {
      const next = h('tr', { dataset: { key, snapshot } }, render(item).map((cell) => (cell instanceof HTMLTableCellElement ? cell : h('td', {}, cell))));
      if (row) row.replaceWith(next);
      row = next;
    }
    return row;
  });
  tbody.replaceChildren(...rows);
}

/** A table with a header row; fill its body with `syncRows`. */
export function table(headers, className = '') {
  const tbody = h('tbody');
  const el = h('table', { class: `table ${className}` }, h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))), tbody);
  return { el, tbody };
}
