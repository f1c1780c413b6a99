// One task (#/tasks/<id>): its card, description, error, attempts (workspaces, diff,
// merge), test runs, sessions and the events of its room, live.

import { getJSON } from '../api.js';
import { roomsOf } from '../describe.js';
import { h, KeyedList, replaceChildren, setText } from '../dom.js';
import { dateTime, money, span, timeMs } from '../format.js';
import { link } from '../router.js';
import { AttemptsPanel } from './attempts.js';
import { createEventRow, updateEventRow } from './event_row.js';
import { createTaskCard, updateTaskCard } from './task_card.js';

const HISTORY_ROWS = 100;

export class TaskDetailView {
  constructor({ store, modal }) {
    this.store = store;
    this.modal = modal;
    this.id = null;
    this.task = null;
    this.testRuns = [];
    this.sessions = [];
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
    this.notFound = h('p', { class: 'empty', testid: 'task-not-found', hidden: true });
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
        this.attempts.el,
        h(
          'div',
          { class: 'grid-two' },
          h(
            'section',
            { class: 'panel' },
            h('header', { class: 'panel-head' }, h('h2', {}, 'Test runs')),
            h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                { class: 'table' },
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    ['status', 'passed', 'failed', 'skipped', 'duration', 'command'].map((c) =>
                      h('th', {}, c),
                    ),
                  ),
                ),
                this.runs,
              ),
            ),
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
    this.events.clear();
    this.attempts.reset();
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
    this.renderRuns();
    this.renderSessions();
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
    let dirty = changes.reset;
    if (changes.tasks.has(this.id)) {
      this.task = this.store.tasks.get(this.id);
      dirty = true;
    }
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
}

function duration(s) {
  const start = timeMs(s.started_at);
  const end = s.ended_at ? timeMs(s.ended_at) : Date.now();
  return Number.isNaN(start) ? '—' : span(end - start);
}
