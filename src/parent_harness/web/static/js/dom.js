// Small DOM helpers. Data only ever reaches the page through textContent and
// attributes, never through innerHTML, so an agent's output cannot inject markup.

/**
 * Creates an element. props: class, text, testid, dataset, on<event> handlers,
 * any other attribute. Children are nodes or strings (added as text).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'testid') el.dataset.testid = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Sets an element's text only when it differs (spares the layout work). */
export function setText(el, text) {
  const value = text === null || text === undefined ? '' : String(text);
  if (el.textContent !== value) el.textContent = value;
}

/** Sets (or removes, for null) an attribute only when it differs. */
export function setAttr(el, name, value) {
  if (value === null || value === undefined) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== String(value)) {
    el.setAttribute(name, String(value));
  }
}

/** Replaces an element's children. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A list of rows keyed by id: rows are created once, updated in place, and the
 * list never holds more than `limit` rows (the oldest at the far end go first).
 */
export class KeyedList {
  constructor(container, { create, update, limit = Infinity }) {
    this.container = container;
    this.create = create;
    this.update = update;
    this.limit = limit;
    this.rows = new Map();
  }

  has(key) {
    return this.rows.has(String(key));
  }

  get size() {
    return this.rows.size;
  }

  /** Updates the row of `key`, creating it at the top (or bottom) when new. */
  upsert(rawKey, item, { atTop = true } = {}) {
    const key = String(rawKey);
    let row = this.rows.get(key);
    if (row) {
      this.update(row, item);
      return row;
    }
    row = this.create(item);
    row.dataset.key = key;
    this.update(row, item);
    this.rows.set(key, row);
    if (atTop) this.container.prepend(row);
    else this.container.append(row);
    this.trim(atTop);
    return row;
  }

  /** Adds many new items at the top at once, newest last in `items`. */
  prependMany(items, keyOf) {
    const fresh = document.createDocumentFragment();
    const start = Math.max(0, items.length - this.limit);
    for (let i = items.length - 1; i >= start; i -= 1) {
      const key = String(keyOf(items[i]));
      if (this.rows.has(key)) continue;
      const row = this.create(items[i]);
      row.dataset.key = key;
      this.update(row, items[i]);
      this.rows.set(key, row);
      fresh.append(row);
    }
    this.container.prepend(fresh);
    this.trim(true);
  }

  /**
   * Makes the container show exactly `items`, in order, reusing rows by key.
   * Only new rows and rows whose key is in `changed` (all when null) are updated.
   */
  sync(items, keyOf, changed = null) {
    const wanted = new Set();
    let previous = null;
    for (const item of items) {
      const key = String(keyOf(item));
      wanted.add(key);
      let row = this.rows.get(key);
      const fresh = !row;
      if (fresh) {
        row = this.create(item);
        row.dataset.key = key;
        this.rows.set(key, row);
      }
      if (fresh || !changed || changed.has(key)) this.update(row, item);
      const expected = previous ? previous.nextElementSibling : this.container.firstElementChild;
      if (row !== expected) this.container.insertBefore(row, expected);
      previous = row;
    }
    for (const [key, row] of this.rows) {
      if (wanted.has(key)) continue;
      row.remove();
      this.rows.delete(key);
    }
  }

  remove(rawKey) {
    const key = String(rawKey);
    const row = this.rows.get(key);
    if (!row) return;
    row.remove();
    this.rows.delete(key);
  }

  clear() {
    this.rows.clear();
    this.container.replaceChildren();
  }

  /** Drops rows past the limit from the end opposite to where rows are added. */
  trim(addedAtTop) {
    while (this.rows.size > this.limit) {
      const victim = addedAtTop
        ? this.container.lastElementChild
        : this.container.firstElementChild;
      if (!victim) break;
      this.rows.delete(victim.dataset.key);
      victim.remove();
    }
  }
}

/** Calls fn at most once per `ms`, with the latest arguments (trailing call kept). */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A scrolling table with these column headings over `body` (its tbody). */
export function table(headings, body) {
  const head = h(
    'thead',
    {},
    h(
      'tr',
      {},
      headings.map((c) => h('th', {}, c)),
    ),
  );
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table' }, head, body));
}
