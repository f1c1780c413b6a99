// The Sessions page: every session, newest first, paged from the hub and kept live.

import { getJSON, isAbort } from '../api.js';
import { h, KeyedList, setAttr, setText, table } from '../dom.js';
import { count, dateTime, money, shortId, span, timeMs } from '../format.js';
import { viewing } from '../moment.js';
import { link } from '../router.js';

const PAGE = 100;
const MAX_ROWS = 500;

export class SessionListView {
  constructor({ store }) {
    this.store = store;
    this.cursor = null;
    this.loaded = false;
    this.el = h('section', { class: 'page page-sessions', testid: 'page-sessions' });
    this.rowsEl = h('tbody', { testid: 'session-rows' });
    this.rows = new KeyedList(this.rowsEl, {
      create: createSessionRow,
      update: (row, s) => updateSessionRow(row, s, store),
      limit: MAX_ROWS,
    });
    this.summary = h('span', { class: 'muted', testid: 'session-count' });
    this.more = h(
      'button',
      {
        class: 'button',
        type: 'button',
        testid: 'session-load-more',
        hidden: true,
        onclick: () => this.load(this.cursor),
      },
      'Load more',
    );
    this.el.append(
      h('div', { class: 'toolbar' }, h('h1', {}, 'Sessions'), this.summary),
      h(
        'section',
        { class: 'panel' },
        table(
          ['status', 'session', 'agent', 'task', 'iteration', 'started', 'duration', 'cost'],
          this.rowsEl,
        ),
      ),
      h('div', { class: 'pager' }, this.more),
    );
  }

  show(_route, missed = false) {
    if (!this.loaded || missed) this.load(null);
  }

  async load(cursor) {
    this.loaded = true;
    if (viewing()) {
      this.fromStore(); // the hub lists sessions as they are now: the past is in the store
      this.more.hidden = true;
      setText(this.summary, `${count(this.rows.size)} shown`);
      return;
    }
    this.more.disabled = true;
    try {
      const page = await getJSON('/api/sessions', { limit: PAGE, cursor });
      if (viewing()) return; // the past is shown since: drawn from its store
      if (!cursor) this.rows.clear();
      for (const s of page.items)
        this.rows.upsert(s.id, this.store.sessions.get(s.id) ?? s, { atTop: false });
      this.cursor = page.next_cursor;
    } catch (error) {
      if (!isAbort(error) && !cursor) this.fromStore();
    } finally {
      this.more.disabled = false;
      this.more.hidden = !this.cursor || this.rows.size >= MAX_ROWS;
      setText(this.summary, `${count(this.rows.size)} shown${this.cursor ? ' · more below' : ''}`);
    }
  }

  fromStore() {
    this.rows.clear();
    const all = [...this.store.sessions.values()].sort((a, b) =>
      a.started_at < b.started_at ? 1 : -1,
    );
    for (const s of all.slice(0, PAGE)) this.rows.upsert(s.id, s, { atTop: false });
  }

  update(changes) {
    if (changes.resync) return this.load(null);
    if (changes.reset) {
      for (const row of this.rows.rows.values()) {
        const live = this.store.sessions.get(row.session.id);
        if (live) updateSessionRow(row, live, this.store);
      }
    }
    for (const id of changes.sessions) {
      const session = this.store.sessions.get(id);
      if (session) this.rows.upsert(id, session, { atTop: true });
    }
  }

  tick(now) {
    for (const row of this.rows.rows.values())
      if (row.session.status === 'running') setText(row.parts.duration, duration(row.session, now));
  }
}

function createSessionRow() {
  const row = h('tr', { testid: 'session-row' });
  row.parts = {
    status: h('span', { class: 'badge', testid: 'session-status' }),
    id: h('a', { class: 'mono', testid: 'session-link' }),
    agent: h('td', {}),
    task: h('a', {}),
    iteration: h('td', { class: 'num', testid: 'session-iteration' }),
    started: h('td', { class: 'nowrap muted' }),
    duration: h('td', { class: 'num' }),
    cost: h('td', { class: 'num' }),
  };
  const p = row.parts;
  row.append(
    h('td', {}, p.status),
    h('td', {}, p.id),
    p.agent,
    h('td', {}, p.task),
    p.iteration,
    p.started,
    p.duration,
    p.cost,
  );
  return row;
}

function updateSessionRow(row, s, store) {
  const p = row.parts;
  row.session = s;
  setAttr(row, 'data-session-id', s.id);
  setText(p.status, s.status ?? '—');
  setAttr(p.status, 'data-status', s.status);
  setText(p.id, shortId(s.id));
  setAttr(p.id, 'title', s.id);
  setAttr(p.id, 'href', link('sessions', s.id));
  setText(p.agent, s.agent_name ?? s.agent_id ?? '—');
  const task = s.task_id ? store.tasks.get(s.task_id) : null;
  setText(p.task, s.task_id ? (task?.title ?? shortId(s.task_id)) : '—');
  setAttr(p.task, 'href', s.task_id ? link('tasks', s.task_id) : null);
  setText(p.iteration, `${s.iteration ?? 0} / ${s.max_iterations ?? '?'}`);
  setText(p.started, dateTime(s.started_at));
  setText(p.duration, duration(s));
  setText(p.cost, money(s.token_usage?.cost_usd ?? 0));
}

/** How long a session ran (or has been running). */
export function duration(s, now = Date.now()) {
  const start = timeMs(s.started_at);
  const end = s.ended_at ? timeMs(s.ended_at) : now;
  return Number.isNaN(start) ? '—' : span(end - start);
}
