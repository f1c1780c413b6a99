// The Event Bus: the whole stream, newest first, filtered by type glob, room,
// level and text (the hub filters history, the same predicate filters live
// events), with pause / resume and paging to older events.

import { accessToken, getJSON, isAbort } from '../api.js';
import { eventFilter } from '../describe.js';
import { debounce, h, replaceChildren, setText } from '../dom.js';
import { count } from '../format.js';
import { link, replaceQuery } from '../router.js';
import { VirtualList } from '../virtual_list.js';
import { createEventRow, updateEventRow } from './event_row.js';

const PAGE = 200;
const MAX_ROWS = 2000; // held in memory; the DOM only has the rows in view
const LEVELS = ['', 'debug', 'info', 'warning', 'error'];

export class EventBusView {
  constructor({ store }) {
    this.store = store;
    this.filters = { types: '', room: '', level: '', q: '' };
    this.matches = eventFilter(this.filters);
    this.paused = false;
    this.buffer = [];
    this.overflowed = false;
    this.loadedKey = null;
    this.controller = null;
    this.el = h('section', { class: 'page page-events', testid: 'page-events' });
    this.build();
  }

  build() {
    const input = (testid, placeholder, label) =>
      h('input', { class: 'search', type: 'search', testid, placeholder, 'aria-label': label });
    this.typeInput = input('bus-type', 'type glob: task:*,*:failed', 'Type glob');
    this.roomInput = input('bus-room', 'room: tasks, agent:a1', 'Room');
    this.qInput = input('bus-search', 'search payloads', 'Search');
    this.levelSelect = h(
      'select',
      { class: 'select', testid: 'bus-level', 'aria-label': 'Level' },
      LEVELS.map((l) => h('option', { value: l }, l || 'any level')),
    );
    const changed = debounce(() => this.readInputs(), 250);
    for (const el of [this.typeInput, this.roomInput, this.qInput])
      el.addEventListener('input', changed);
    this.levelSelect.addEventListener('change', () => this.readInputs());
    this.pauseButton = h(
      'button',
      { class: 'button', type: 'button', testid: 'bus-pause', onclick: () => this.togglePause() },
      'Pause',
    );
    this.summary = h('span', { class: 'muted', testid: 'bus-count' });
    this.exportButton = h(
      'button',
      {
        class: 'button',
        type: 'button',
        testid: 'bus-export',
        title: 'Download an incident bundle of the events shown (docs/history.md)',
        onclick: () => this.exportBundle(),
      },
      'Export bundle',
    );
    this.detail = h('section', {
      class: 'panel event-detail',
      testid: 'event-detail',
      hidden: true,
    });
    this.listEl = h('div', { class: 'event-list tall', testid: 'bus-list' });
    this.rows = new VirtualList(this.listEl, {
      create: createEventRow,
      update: updateEventRow,
      keyOf: (m) => m.seq,
      limit: MAX_ROWS,
    });
    this.older = h(
      'button',
      {
        class: 'button',
        type: 'button',
        testid: 'bus-load-older',
        hidden: true,
        onclick: () => this.loadOlder(),
      },
      'Load older',
    );
    this.el.append(
      h(
        'div',
        { class: 'toolbar' },
        h('h1', {}, 'Event Bus'),
        this.typeInput,
        this.roomInput,
        this.levelSelect,
        this.qInput,
        this.pauseButton,
        this.exportButton,
        this.summary,
      ),
      this.detail,
      h('section', { class: 'panel' }, this.listEl),
      h('div', { class: 'pager' }, this.older),
    );
  }

  show(route, missed = false) {
    const q = route.query;
    if (route.id && ![...q.keys()].length && this.loadedKey !== null && !missed)
      return this.showDetail(route.id);
    const filters = {
      types: q.get('type') ?? '',
      room: q.get('room') ?? '',
      level: q.get('level') ?? '',
      q: q.get('q') ?? '',
    };
    this.fillInputs(filters);
    if (filterKey(filters) !== this.loadedKey || missed) this.apply(filters, false);
    this.showDetail(route.id);
  }

  fillInputs(f) {
    const pairs = [
      [this.typeInput, f.types],
      [this.roomInput, f.room],
      [this.levelSelect, f.level],
      [this.qInput, f.q],
    ];
    for (const [el, value] of pairs) if (document.activeElement !== el) el.value = value;
  }

  readInputs() {
    this.apply(
      {
        types: this.typeInput.value.trim(),
        room: this.roomInput.value.trim(),
        level: this.levelSelect.value,
        q: this.qInput.value.trim(),
      },
      true,
    );
  }

  apply(filters, updateHash) {
    this.filters = filters;
    this.matches = eventFilter(filters);
    if (updateHash) {
      const { types, room, level, q } = filters;
      replaceQuery(
        Object.fromEntries(Object.entries({ type: types, room, level, q }).filter(([, v]) => v)),
      );
    }
    this.reload();
  }

  params(before) {
    const f = this.filters;
    return {
      type: f.types,
      room: f.room,
      level: f.level,
      q: f.q,
      order: 'desc',
      limit: PAGE,
      before,
    };
  }

  /** The newest page for the filters from the hub; live events continue it. */
  async reload() {
    this.controller?.abort();
    this.controller = new AbortController();
    this.loadedKey = filterKey(this.filters);
    this.buffer = [];
    this.overflowed = false;
    this.el.dataset.loading = 'true';
    let items;
    let more = false;
    try {
      const page = await getJSON('/api/events', this.params(null), {
        signal: this.controller.signal,
      });
      items = page.items;
      more = Boolean(page.next_cursor) || items.length === PAGE;
    } catch (error) {
      if (isAbort(error)) return;
      items = this.store.events.items.filter(this.matches).reverse(); // hub unreachable: what we hold
    }
    const recent = this.store.events.items.filter(
      (m) => m.seq > (items[0]?.seq ?? 0) && this.matches(m),
    );
    this.rows.setItems(recent.reverse().concat(items));
    this.older.hidden = !more;
    this.el.dataset.loading = 'false';
    this.renderSummary();
  }

  async loadOlder() {
    const oldest = this.rows.items[this.rows.size - 1];
    if (!oldest) return;
    this.older.disabled = true;
    try {
      const page = await getJSON('/api/events', this.params(oldest.seq));
      this.rows.append(page.items);
      this.older.hidden = !page.next_cursor || this.rows.size >= MAX_ROWS;
    } finally {
      this.older.disabled = false;
      this.renderSummary();
    }
  }

  /** The export route's query for the rows shown: their seq range, and the task or
   *  session when the room filter names one. */
  exportQuery() {
    const items = this.rows.items;
    const query = new URLSearchParams();
    if (items.length) {
      query.set('from', String(items[items.length - 1].seq));
      query.set('to', String(items[0].seq));
    }
    const [entity, id] = this.filters.room.split(':');
    if (id && (entity === 'task' || entity === 'session')) query.set(entity, id);
    return query;
  }

  /** Downloads the bundle (with this tab's token, which a plain link could not carry). */
  async exportBundle() {
    const query = this.exportQuery();
    const token = accessToken();
    this.exportButton.disabled = true;
    try {
      const response = await fetch(`/api/export?${query}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        cache: 'no-store',
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        throw new Error(problem.detail ?? `${response.status} ${response.statusText}`);
      }
      const href = URL.createObjectURL(await response.blob());
      const name = `bundle-${query.get('from') ?? 'all'}-${query.get('to') ?? 'now'}.jsonl`;
      const save = h('a', { href, download: name, hidden: true });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(href), 60_000);
      this.exportButton.removeAttribute('data-error');
      this.exportButton.title = `Saved ${name}`;
    } catch (error) {
      this.exportButton.dataset.error = 'true';
      this.exportButton.title = `Export failed: ${error.message}`;
    } finally {
      this.exportButton.disabled = false;
    }
  }

  togglePause() {
    this.paused = !this.paused;
    this.el.dataset.paused = String(this.paused);
    if (!this.paused) {
      if (this.overflowed) this.reload();
      else this.rows.prepend(this.buffer);
      this.buffer = [];
      this.overflowed = false;
    }
    this.renderSummary();
  }

  update(changes) {
    if (changes.resync) return this.reload();
    const fresh = changes.events.filter(this.matches);
    if (!fresh.length) return;
    if (this.paused) {
      this.buffer.push(...fresh);
      if (this.buffer.length > MAX_ROWS) {
        this.buffer.splice(0, this.buffer.length - MAX_ROWS);
        this.overflowed = true; // too many to hold: reload from the hub on resume
      }
    } else {
      this.rows.prepend(fresh);
    }
    this.renderSummary();
  }

  renderSummary() {
    setText(
      this.pauseButton,
      this.paused
        ? `Resume${this.buffer.length ? ` (${count(this.buffer.length)}${this.overflowed ? '+' : ''} new)` : ''}`
        : 'Pause',
    );
    this.pauseButton.setAttribute('aria-pressed', String(this.paused));
    setText(this.summary, `${count(this.rows.size)} shown${this.paused ? ' · paused' : ''}`);
  }

  /** Shows one event's full message (#/events/<seq>). */
  async showDetail(seq) {
    if (!seq) {
      this.detail.hidden = true;
      return;
    }
    const n = Number(seq);
    let msg = this.store.events.items.find((m) => m.seq === n);
    try {
      msg = msg ?? (await getJSON(`/api/events/${n}`));
    } catch (error) {
      msg = null;
      replaceChildren(
        this.detail,
        h('p', { class: 'empty' }, `Event #${seq} is not available (${error.message}).`),
      );
    }
    if (msg) renderDetail(this.detail, msg);
    this.detail.hidden = false;
    for (const row of this.listEl.querySelectorAll('[data-selected]'))
      row.removeAttribute('data-selected');
    this.listEl.querySelector(`[data-seq="${n}"]`)?.setAttribute('data-selected', '');
  }
}

function renderDetail(panel, msg) {
  replaceChildren(
    panel,
    h(
      'header',
      { class: 'panel-head' },
      h('h2', {}, `Event #${msg.seq} · ${msg.type}`),
      h('a', { class: 'panel-note', href: link('events'), testid: 'event-detail-close' }, 'close'),
    ),
    h('pre', { class: 'code', testid: 'event-detail-json' }, JSON.stringify(msg, null, 2)),
  );
}

function filterKey(f) {
  return [f.types, f.room, f.level, f.q].join('|');
}
