// The Tasks page: TaskCards paged from the hub (REST limit + cursor), filtered
// by status and text, kept live by the store's changes without a re-render.

import { getJSON, isAbort } from '../api.js';
import { debounce, h, KeyedList, setText } from '../dom.js';
import { ago, count } from '../format.js';
import { viewing } from '../moment.js';
import { link, replaceQuery } from '../router.js';
import { createTaskCard, updateTaskCard, updateTaskDiff } from './task_card.js';

const STATUSES = [
  'pending',
  'queued',
  'blocked',
  'assigned',
  'running',
  'testing',
  'completed',
  'failed',
  'cancelled',
];
const PAGE = 50;
const MAX_CARDS = 200; // past this, the operator refines the filter instead of scrolling

/** True when a task passes the status set (empty: all) and the search text. */
export function taskMatches(task, statuses, q) {
  if (statuses.size && !statuses.has(task.status)) return false;
  if (!q) return true;
  const needle = q.toLowerCase();
  return [task.title, task.description, task.id].some((f) => f?.toLowerCase().includes(needle));
}

export class TaskListView {
  constructor({ store, modal }) {
    this.store = store;
    this.modal = modal;
    this.statuses = new Set();
    this.q = '';
    this.cursor = null;
    this.loadedKey = null;
    this.controller = null;
    this.el = h('section', { class: 'page page-tasks', testid: 'page-tasks' });
    this.build();
  }

  build() {
    this.chips = new Map(
      STATUSES.map((s) => [
        s,
        h(
          'button',
          {
            class: 'chip',
            type: 'button',
            testid: `status-filter-${s}`,
            'data-status': s,
            'aria-pressed': 'false',
            onclick: () => this.toggleStatus(s),
          },
          s,
        ),
      ]),
    );
    this.allChip = h(
      'button',
      {
        class: 'chip',
        type: 'button',
        testid: 'status-filter-all',
        'aria-pressed': 'true',
        onclick: () => this.setFilters(new Set(), this.q),
      },
      'all',
    );
    this.search = h('input', {
      class: 'search',
      type: 'search',
      placeholder: 'Search title, description, id',
      testid: 'task-search',
      'aria-label': 'Search tasks',
    });
    this.search.addEventListener(
      'input',
      debounce(() => this.setFilters(this.statuses, this.search.value.trim()), 250),
    );
    this.summary = h('span', { class: 'muted', testid: 'task-count' });
    this.listEl = h('div', { class: 'task-grid', testid: 'task-list' });
    this.cards = new KeyedList(this.listEl, {
      create: () => createTaskCard((task) => this.modal.open(task)),
      update: (card, task) => {
        updateTaskCard(card, task, this.store.sessionOf(task), this.store.testRuns.get(task.id));
        updateTaskDiff(card, this.store.latestAttempt(task.id));
      },
      limit: MAX_CARDS,
    });
    this.more = h(
      'button',
      {
        class: 'button',
        type: 'button',
        testid: 'task-load-more',
        hidden: true,
        onclick: () => this.loadMore(),
      },
      'Load more',
    );
    this.empty = h(
      'p',
      { class: 'empty', testid: 'task-empty', hidden: true },
      'No task matches these filters.',
    );
    this.el.append(
      h(
        'div',
        { class: 'toolbar' },
        h('h1', {}, 'Tasks'),
        h(
          'div',
          { class: 'chips', role: 'group', 'aria-label': 'Filter by status' },
          this.allChip,
          [...this.chips.values()],
        ),
        this.search,
        this.summary,
        h('a', { href: link('plans'), class: 'plans-link', testid: 'plans-link' }, 'Plans'),
      ),
      this.listEl,
      this.empty,
      h('div', { class: 'pager' }, this.more),
    );
  }

  show(route, missed = false) {
    const statuses = new Set(
      (route.query.get('status') ?? '').split(',').filter((s) => STATUSES.includes(s)),
    );
    const q = route.query.get('q') ?? '';
    if (document.activeElement !== this.search) this.search.value = q;
    const key = filterKey(statuses, q);
    if (key !== this.loadedKey || missed) this.setFilters(statuses, q, { updateHash: false });
  }

  toggleStatus(status) {
    const next = new Set(this.statuses);
    if (next.has(status)) next.delete(status);
    else next.add(status);
    this.setFilters(next, this.q);
  }

  setFilters(statuses, q, { updateHash = true } = {}) {
    this.statuses = statuses;
    this.q = q;
    this.allChip.setAttribute('aria-pressed', String(statuses.size === 0));
    for (const [s, chip] of this.chips) chip.setAttribute('aria-pressed', String(statuses.has(s)));
    if (updateHash)
      replaceQuery({
        ...(statuses.size ? { status: [...statuses].join(',') } : {}),
        ...(q ? { q } : {}),
      });
    this.reload();
  }

  params(cursor) {
    return { status: [...this.statuses].join(','), q: this.q, limit: PAGE, cursor };
  }

  /** First page for the current filters, from the hub. */
  async reload() {
    this.controller?.abort();
    this.controller = new AbortController();
    const key = filterKey(this.statuses, this.q);
    this.loadedKey = key;
    this.el.dataset.loading = 'true';
    try {
      if (viewing()) {
        this.fromStore(); // the hub lists tasks as they are now: the past is in the store
        this.cursor = null;
      } else {
        const page = await getJSON('/api/tasks', this.params(null), {
          signal: this.controller.signal,
        });
        this.cards.clear();
        this.append(page.items);
        this.cursor = page.next_cursor;
      }
    } catch (error) {
      if (isAbort(error)) return;
      this.fromStore(); // hub unreachable: show what the store holds, marked stale by the header
      this.cursor = null;
    }
    this.el.dataset.loading = 'false';
    this.renderFooter();
    performance.mark('harness:tasks-rendered');
  }

  async loadMore() {
    if (!this.cursor) return;
    this.more.disabled = true;
    try {
      const page = await getJSON('/api/tasks', this.params(this.cursor));
      this.append(page.items);
      this.cursor = page.next_cursor;
    } finally {
      this.more.disabled = false;
      this.renderFooter();
    }
  }

  fromStore() {
    this.cards.clear();
    const found = [...this.store.tasks.values()].filter((t) =>
      taskMatches(t, this.statuses, this.q),
    );
    found.sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
    this.append(found.slice(0, PAGE));
  }

  /** Adds REST rows at the bottom; the store's copy wins when it is newer. */
  append(items) {
    for (const item of items) {
      if (this.cards.size >= MAX_CARDS) break;
      const live = this.store.tasks.get(item.id);
      this.cards.upsert(item.id, live && live.updated_at >= item.updated_at ? live : item, {
        atTop: false,
      });
    }
  }

  renderFooter() {
    const full = this.cards.size >= MAX_CARDS;
    this.more.hidden = !this.cursor || full;
    this.empty.hidden = this.cards.size > 0 || this.el.dataset.loading === 'true';
    const more = this.cursor ? (full ? ' · refine the filter to see more' : ' · more below') : '';
    setText(this.summary, `${count(this.cards.size)} shown${more}`);
  }

  update(changes) {
    if (changes.resync) return this.reload();
    if (changes.reset) return this.refreshCards(null);
    if (changes.tasks.size) this.applyTasks(changes.tasks);
    if (changes.sessions.size || changes.testRuns.size || changes.workspaces.size)
      this.refreshCards(changes);
  }

  /** Updates shown cards in place; a task that starts to match appears at the top. */
  applyTasks(ids) {
    for (const id of ids) {
      const task = this.store.tasks.get(id);
      if (!task) continue;
      const matches = taskMatches(task, this.statuses, this.q);
      if (this.cards.has(id)) {
        if (matches) this.cards.upsert(id, task);
        else this.cards.remove(id);
      } else if (matches) {
        this.cards.upsert(id, task, { atTop: true });
      }
    }
    this.renderFooter();
  }

  /** Called every second: the "updated … ago" of each card. */
  tick(now) {
    for (const card of this.cards.rows.values())
      setText(card.parts.updated, ago(card.task.updated_at, now));
  }

  /** Re-fills cards whose session or test run changed (all cards when `changes` is null). */
  refreshCards(changes) {
    for (const card of this.cards.rows.values()) {
      const t = this.store.tasks.get(card.task.id) ?? card.task;
      if (
        !changes ||
        changes.testRuns.has(t.id) ||
        changes.workspaces.has(t.id) ||
        changes.sessions.has(t.session_id)
      )
        this.cards.upsert(t.id, t);
    }
  }
}

function filterKey(statuses, q) {
  return `${[...statuses].sort().join(',')}|${q}`;
}
