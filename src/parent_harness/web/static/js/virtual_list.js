// A long list that only keeps the rows in view (plus a margin) in the DOM: the
// Event Bus can hold thousands of events and a storm only costs the visible rows.
// Rows stay keyed and in order; spacers above and below stand for the others.

import { h, KeyedList } from './dom.js';

const FALLBACK_VIEW_PX = 800;

export class VirtualList {
  /**
   * viewport: the scrolling element (its height is bounded by CSS).
   * create() / update(row, item): build and fill a row; keyOf(item): its key.
   * Items are kept newest first, at most `limit`, without two of one key.
   */
  constructor(viewport, { create, update, keyOf, limit = Infinity, overscan = 10 }) {
    this.viewport = viewport;
    this.keyOf = keyOf;
    this.limit = limit;
    this.overscan = overscan;
    this.list = [];
    this.keys = new Set();
    this.rowHeight = 0;
    this.viewHeight = 0;
    this.scrollTop = 0;
    this.frame = 0;
    this.above = h('div', { class: 'spacer', 'aria-hidden': 'true' });
    this.box = h('ol', { class: 'virtual-rows' });
    this.below = h('div', { class: 'spacer', 'aria-hidden': 'true' });
    viewport.replaceChildren(this.above, this.box, this.below);
    viewport.style.overflowAnchor = 'none'; // this list anchors itself (see prepend)
    this.rows = new KeyedList(this.box, { create, update });
    viewport.addEventListener('scroll', () => this.scrolled(), { passive: true });
    new ResizeObserver((entries) => this.resized(entries[0].contentRect.height)).observe(viewport);
  }

  get size() {
    return this.list.length;
  }

  get items() {
    return this.list;
  }

  has(key) {
    return this.keys.has(key);
  }

  clear() {
    this.setItems([]);
  }

  /** Replaces every item (newest first). */
  setItems(items) {
    this.list = [];
    this.keys.clear();
    this.append(items);
    this.viewport.scrollTop = 0;
    this.scrollTop = 0;
    this.render();
  }

  /** Adds items that arrived (oldest first) at the top; a reader scrolled down keeps his place. */
  prepend(arrived) {
    const fresh = [];
    for (let i = arrived.length - 1; i >= 0 && fresh.length < this.limit; i -= 1) {
      const key = this.keyOf(arrived[i]);
      if (this.keys.has(key)) continue;
      this.keys.add(key);
      fresh.push(arrived[i]);
    }
    if (!fresh.length) return;
    this.list = fresh.concat(this.list);
    this.trim();
    if (this.scrollTop > 0 && this.rowHeight) {
      this.scrollTop += fresh.length * this.rowHeight;
      this.viewport.scrollTop = this.scrollTop;
    }
    this.render();
  }

  /** Adds older items (newest first) at the bottom. */
  append(older) {
    for (const item of older) {
      if (this.list.length >= this.limit) break;
      const key = this.keyOf(item);
      if (this.keys.has(key)) continue;
      this.keys.add(key);
      this.list.push(item);
    }
    this.render();
  }

  trim() {
    if (this.list.length <= this.limit) return;
    for (const item of this.list.splice(this.limit)) this.keys.delete(this.keyOf(item));
  }

  scrolled() {
    this.scrollTop = this.viewport.scrollTop;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  resized(height) {
    this.viewHeight = height;
    this.rowHeight = 0; // measured again: a phone's rows are taller
    this.render();
  }

  /** Shows the rows in view, plus `overscan` on each side. */
  render() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    const height = this.rowHeight || 24;
    const view = this.viewHeight || FALLBACK_VIEW_PX;
    const first = Math.max(0, Math.floor(this.scrollTop / height) - this.overscan);
    const last = Math.min(
      this.list.length,
      Math.ceil((this.scrollTop + view) / height) + this.overscan,
    );
    this.rows.sync(this.list.slice(first, last), this.keyOf, NOTHING_CHANGED);
    this.above.style.height = `${first * height}px`;
    this.below.style.height = `${(this.list.length - last) * height}px`;
    if (!this.rowHeight && this.box.firstElementChild && this.viewHeight) {
      this.rowHeight = this.box.firstElementChild.offsetHeight || 24;
      if (this.rowHeight !== height) this.render();
    }
  }
}

const NOTHING_CHANGED = new Set(); // events never change: a row is filled once
