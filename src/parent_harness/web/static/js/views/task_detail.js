// One task (#/tasks/<id>): its card, description, error, its parents and children in the
// task graph (with their live status), attempts (workspaces, diff, merge), test runs,
// sessions and the events of its room, live.

import { getJSON } from '../api.js';
import { roomsOf } from '../describe.js';
import { h, KeyedList, replaceChildren, setAttr, setText, table } from '../dom.js';
import { dateTime, money, span, timeMs } from '../format.js';
import { link } from '../router.js';
import { AttemptsPanel } from './attempts.js';
import { createEventRow, updateEventRow } from './event_row.js';
import { edgesOf } from './plan_graph.js';
import { createTaskCard, updateTaskCard } from './task_card.js';
import { TaskLimitPanel } from './task_limit.js';

const HISTORY_ROWS = 100;
const PLAN_PAGE = 500;
const PLAN_PAGES = 10; // children are looked for among this many tasks of the plan, at most
const WHEN = { on_success: 'on success', on_failure: 'on failure', always: 'always' };

export class TaskDetailView {
  constructor({ store, modal }) {
    this.store = store;
    this.modal = modal;
    this.id = null;
    this.task = null;
    this.testRuns = [];
    this.sessions = [];
    this.related = new Map(); // parents and plan tasks read from the hub, by id
    this.el = h('section', { class: 'page page-task', testid: 'page-task' });
    this.card = createTaskCard((task) => this.modal.open(task));
    this.card.classList.add('task-card-wide');
    this.card.dataset.testid = 'task-detail-card';
    this.title = h('h1', { testid: 'task-detail-title' });
    this.description = h('p', { class: 'description', testid: 'task-description' });
    this.error = h('div', { class: 'error-box', testid: 'task-error', hidden: true });
    this.runs = h('tbody', { testid: 'task-test-runs' });
    this.sessionList = h('ul', { class: 'rows', testid: 'task-sessions' });
    this.eventList = h('ol', { class: 'event-list', testid: 'task-events' });
    this.events = new KeyedList(this.eventList, {
      create: createEventRow,
      update: updateEventRow,
      limit: HISTORY_ROWS,
    });
    this.attempts = new AttemptsPanel();
    this.limit = new TaskLimitPanel();
    this.notFound = h('p', { class: 'empty', testid: 'task-not-found', hidden: true });
    this.waits = h('p', { class: 'task-waits', testid: 'task-waits', hidden: true });
    this.planLink = h('a', { class: 'task-plan', testid: 'task-plan-link', hidden: true });
    this.parentList = h('ul', { class: 'edge-list', testid: 'task-parents' });
    this.childList = h('ul', { class: 'edge-list', testid: 'task-children' });
    this.graph = h(
      'section',
      { class: 'panel', testid: 'task-graph' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Dependencies'), this.planLink),
      h('div', { class: 'task-graph-waits' }, this.waits),
      h(
        'div',
        { class: 'grid-two' },
        h('div', {}, h('h3', { class: 'panel-sub' }, 'Parents'), this.parentList),
        h('div', {}, h('h3', { class: 'panel-sub' }, 'Children'), this.childList),
      ),
    );
    this.el.append(
      h(
        'div',
        { class: 'toolbar' },
        h('a', { href: link('tasks'), class: 'back' }, '← Tasks'),
        this.title,
      ),
      this.notFound,
      h(
        'div',
        { class: 'detail-body' },
        this.card,
        this.description,
        this.error,
        this.limit.el,
        this.graph,
        this.attempts.el,
        h(
          'div',
          { class: 'grid-two' },
          h(
            'section',
            { class: 'panel' },
            h('header', { class: 'panel-head' }, h('h2', {}, 'Test runs')),
            table(['status', 'passed', 'failed', 'skipped', 'duration', 'command'], this.runs),
          ),
          h(
            'section',
            { class: 'panel' },
            h('header', { class: 'panel-head' }, h('h2', {}, 'Sessions')),
            this.sessionList,
          ),
        ),
        h(
          'section',
          { class: 'panel' },
          h('header', { class: 'panel-head' }, h('h2', {}, 'Events of this task')),
          this.eventList,
        ),
      ),
    );
  }

  async show(route, missed = false) {
    if (route.id === this.id && this.task && !missed) return this.render();
    this.id = route.id;
    this.task = this.store.tasks.get(this.id) ?? null;
    this.related = new Map();
    this.events.clear();
    this.attempts.reset();
    this.limit.reset();
    this.attempts.set(this.store.attemptsOf(this.id));
    this.render();
    this.loadAttempts(route.id);
    try {
      const [detail, events] = await Promise.all([
        getJSON(`/api/tasks/${encodeURIComponent(this.id)}`),
        getJSON('/api/events', { room: `task:${this.id}`, order: 'desc', limit: HISTORY_ROWS }),
      ]);
      if (route.id !== this.id) return;
      const live = this.store.tasks.get(this.id);
      this.task = live && live.updated_at >= detail.task.updated_at ? live : detail.task;
      this.testRuns = detail.test_runs ?? [];
      this.sessions = detail.sessions ?? [];
      this.events.prependMany([...events.items].reverse(), (m) => m.seq);
      this.notFound.hidden = true;
      this.render();
      await this.loadRelated(route.id);
    } catch (error) {
      if (!this.task) {
        this.notFound.hidden = false;
        setText(this.notFound, `Task ${this.id} was not found (${error.message}).`);
      }
    }
    this.render();
  }

  /** The attempts as REST tells them (with their sessions' status and cost). */
  async loadAttempts(id) {
    try {
      const answer = await getJSON(`/api/tasks/${encodeURIComponent(id)}/attempts`);
      if (id === this.id) this.attempts.load(answer.attempts ?? []);
    } catch {
      // no attempts to show: the live ones (if any) stay
    }
  }

  render() {
    const t = this.task;
    this.el.querySelector('.detail-body').hidden = !t;
    if (!t) return setText(this.title, this.id);
    setText(this.title, t.title || t.id);
    updateTaskCard(this.card, t, this.store.sessionOf(t), this.latestRun());
    setText(this.description, t.description || 'No description.');
    this.renderError(t);
    this.limit.set(t, this.store.budget);
    this.renderGraph(t);
    this.renderRuns();
    this.renderSessions();
  }

  /** Parents the store does not hold, and the plan's tasks (where children are). */
  async loadRelated(id) {
    const t = this.task;
    if (!t) return;
    const missing = parentsOf(t)
      .map((d) => d.id)
      .filter((p) => !this.store.tasks.has(p));
    const found = await Promise.all(
      missing.map((p) =>
        getJSON(`/api/tasks/${encodeURIComponent(p)}`).then(
          (body) => body.task,
          () => null, // gone or not visible to this token: named without a status
        ),
      ),
    );
    const related = new Map();
    for (const p of found) if (p) related.set(p.id, p);
    if (t.plan_id) {
      let cursor = null;
      for (let n = 0; n < PLAN_PAGES; n += 1) {
        const page = await getJSON('/api/tasks', { plan_id: t.plan_id, limit: PLAN_PAGE, cursor });
        for (const item of page.items) related.set(item.id, item);
        cursor = page.next_cursor;
        if (!cursor) break;
      }
    }
    if (id !== this.id) return;
    this.related = related;
  }

  /** The freshest copy of a task the page knows of (the store's, or one read from REST). */
  known(id) {
    const live = this.store.tasks.get(id);
    const read = this.related.get(id);
    if (!live) return read;
    return read && read.updated_at > live.updated_at ? read : live;
  }

  /** Tasks whose depends_on names this one, with the edge's condition. */
  children() {
    const seen = new Map();
    for (const source of [this.related.values(), this.store.tasks.values()]) {
      for (const task of source) {
        if (seen.has(task.id)) continue;
        const edge = edgesOf([this.known(task.id) ?? task]).find((e) => e.parent === this.id);
        if (edge) seen.set(task.id, edge.when);
      }
    }
    return [...seen].map(([id, when]) => ({ id, when })).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  renderGraph(t) {
    const waiting = t.status === 'blocked' ? (t.blocked_by ?? []) : [];
    this.waits.hidden = !waiting.length;
    replaceChildren(
      this.waits,
      ...(waiting.length
        ? [
            'Waits for ',
            ...waiting.flatMap((id, i) => [i ? ', ' : '', h('a', { href: link('tasks', id) }, id)]),
            ' to end.',
          ]
        : []),
    );
    this.planLink.hidden = !t.plan_id;
    setAttr(this.planLink, 'href', t.plan_id ? link('plans', t.plan_id) : null);
    setText(this.planLink, t.plan_id ? `plan ${t.plan_id} · graph` : '');
    const parents = parentsOf(t);
    replaceChildren(
      this.parentList,
      parents.length
        ? parents.map((d) => this.edgeRow(d.id, d.when, 'task-parent', waiting.includes(d.id)))
        : h('li', { class: 'empty' }, 'No parents.'),
    );
    const children = this.children();
    // A task with no edge and no plan has nothing to show here: no empty panel.
    this.graph.hidden = !parents.length && !children.length && !t.plan_id;
    replaceChildren(
      this.childList,
      children.length
        ? children.map((c) => this.edgeRow(c.id, c.when, 'task-child', false))
        : h('li', { class: 'empty' }, 'No children.'),
    );
  }

  edgeRow(id, when, testid, waitedFor) {
    const other = this.known(id);
    const status = other?.status ?? 'unknown';
    return h(
      'li',
      { testid, 'data-task-id': id, 'data-when': when, 'data-status': status },
      h('span', { class: 'badge', 'data-status': status, testid: 'relation-status' }, status),
      h('a', { href: link('tasks', id), testid: 'relation-link' }, other?.title || id),
      h('span', { class: 'mono muted' }, id),
      h('span', { class: 'muted', testid: 'relation-when' }, WHEN[when] ?? when),
      waitedFor ? h('span', { class: 'task-waits' }, 'waited for') : null,
    );
  }

  latestRun() {
    return this.store.testRuns.get(this.id) ?? this.testRuns[this.testRuns.length - 1];
  }

  renderError(t) {
    const err = t.error_details;
    this.error.hidden = !err;
    if (!err) return;
    replaceChildren(
      this.error,
      h(
        'strong',
        {},
        `${err.kind ?? 'error'}${err.exit_code != null ? ` · exit ${err.exit_code}` : ''}: `,
      ),
      h('span', {}, err.message ?? ''),
      h(
        'button',
        {
          class: 'button small',
          type: 'button',
          testid: 'task-error-open',
          onclick: () => this.modal.open(this.task),
        },
        'Details',
      ),
    );
  }

  renderRuns() {
    const rows = this.testRuns
      .slice(-20)
      .reverse()
      .map((r) =>
        h(
          'tr',
          { 'data-result': r.status },
          h('td', {}, h('span', { class: 'badge', 'data-status': r.status }, r.status ?? '—')),
          h('td', { class: 'num' }, r.passed ?? '—'),
          h('td', { class: 'num' }, r.failed ?? '—'),
          h('td', { class: 'num' }, r.skipped ?? '—'),
          h('td', { class: 'num' }, r.duration_s != null ? `${r.duration_s.toFixed(1)} s` : '—'),
          h('td', { class: 'mono' }, r.command ?? ''),
        ),
      );
    replaceChildren(
      this.runs,
      rows.length
        ? rows
        : h('tr', { class: 'empty' }, h('td', { colspan: 6 }, 'No test runs yet.')),
    );
  }

  renderSessions() {
    const items = this.sessions.map((s) => this.store.sessions.get(s.id) ?? s);
    const rows = items.map((s) =>
      h(
        'li',
        { class: 'session-line' },
        h('span', { class: 'badge', 'data-status': s.status }, s.status ?? '—'),
        h('a', { href: link('sessions', s.id) }, s.id),
        h(
          'span',
          { class: 'muted' },
          `iteration ${s.iteration ?? 0} of ${s.max_iterations ?? '?'} · ${dateTime(s.started_at)} · ${duration(s)} · ${money(s.token_usage?.cost_usd ?? 0)}`,
        ),
      ),
    );
    replaceChildren(
      this.sessionList,
      rows.length ? rows : h('li', { class: 'empty' }, 'No sessions yet.'),
    );
  }

  update(changes) {
    if (!this.id) return;
    if (changes.resync) return this.show({ id: this.id }, true);
    let dirty = changes.reset || changes.budget;
    if (changes.tasks.has(this.id)) {
      this.task = this.store.tasks.get(this.id);
      dirty = true;
    }
    if (this.task && !dirty) dirty = this.touchesGraph(changes.tasks);
    for (const run of changes.testRuns.has(this.id) ? [this.store.testRuns.get(this.id)] : []) {
      this.testRuns = this.testRuns.filter((r) => r.id !== run.id).concat(run);
      dirty = true;
    }
    for (const id of changes.sessions) {
      const s = this.store.sessions.get(id);
      if (s?.task_id !== this.id) continue;
      this.sessions = this.sessions.filter((x) => x.id !== id).concat(s);
      dirty = true;
    }
    if (changes.workspaces.has(this.id)) this.attempts.set(this.store.attemptsOf(this.id));
    const room = `task:${this.id}`;
    const mine = changes.events.filter((m) => roomsOf(m).includes(room));
    if (mine.length) this.events.prependMany(mine, (m) => m.seq);
    if (dirty) this.render();
  }

  /** True when a changed task is a parent or a child of this one (or now names it). */
  touchesGraph(ids) {
    if (!ids.size) return false;
    const parents = new Set(parentsOf(this.task).map((d) => d.id));
    for (const id of ids) {
      if (parents.has(id)) return true;
      const t = this.store.tasks.get(id);
      if (t && parentsOf(t).some((d) => d.id === this.id)) return true;
      if (this.related.has(id)) return true;
    }
    return false;
  }
}

/** A task's depends_on as [{id, when}]. */
function parentsOf(task) {
  return (task.depends_on ?? []).map((d) =>
    typeof d === 'string'
      ? { id: d, when: 'on_success' }
      : { id: d.id, when: d.when ?? 'on_success' },
  );
}

function duration(s) {
  const start = timeMs(s.started_at);
  const end = s.ended_at ? timeMs(s.ended_at) : Date.now();
  return Number.isNaN(start) ? '—' : span(end - start);
}
