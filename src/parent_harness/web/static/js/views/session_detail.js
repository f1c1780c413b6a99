// One session (#/sessions/<id>): its iterations as a timeline and its heartbeats.

import { getJSON } from '../api.js';
import { h, KeyedList, setAttr, setText } from '../dom.js';
import { ago, clock, dateTime, money, percent, tokens } from '../format.js';
import { viewing } from '../moment.js';
import { link } from '../router.js';
import { duration } from './sessions.js';
import { OutputTerminal } from './terminal.js';

const HEARTBEATS_KEPT = 300;

export class SessionDetailView {
  constructor({ store }) {
    this.store = store;
    this.id = null;
    this.session = null;
    this.heartbeats = [];
    this.el = h('section', { class: 'page page-session', testid: 'page-session' });
    this.title = h('h1', { class: 'mono', testid: 'session-detail-title' });
    this.facts = h('dl', { class: 'facts wide', testid: 'session-facts' });
    this.timelineEl = h('ol', { class: 'timeline', testid: 'session-timeline' });
    this.timeline = new KeyedList(this.timelineEl, {
      create: createIterationItem,
      update: updateIterationItem,
    });
    this.beatCanvas = h('canvas', {
      class: 'chart',
      testid: 'session-heartbeat-chart',
      height: 60,
    });
    this.beatNote = h('span', { class: 'panel-note', testid: 'session-heartbeat-note' });
    this.beatList = h('ol', { class: 'beat-list', testid: 'session-heartbeats' });
    this.output = h('pre', { class: 'code', testid: 'session-output', hidden: true });
    this.notFound = h('p', { class: 'empty', testid: 'session-not-found', hidden: true });
    this.terminal = new OutputTerminal();
    this.el.append(
      h(
        'div',
        { class: 'toolbar' },
        h('a', { href: link('sessions'), class: 'back' }, '← Sessions'),
        this.title,
      ),
      this.notFound,
      h('section', { class: 'panel' }, this.facts, this.output),
      this.terminal.el,
      h(
        'div',
        { class: 'grid-two' },
        h(
          'section',
          { class: 'panel' },
          h('header', { class: 'panel-head' }, h('h2', {}, 'Iterations')),
          this.timelineEl,
        ),
        h(
          'section',
          { class: 'panel' },
          h('header', { class: 'panel-head' }, h('h2', {}, 'Heartbeats'), this.beatNote),
          this.beatCanvas,
          this.beatList,
        ),
      ),
    );
  }

  async show(route, missed = false) {
    this.terminal.open(route.id);
    if (route.id === this.id && this.session && !missed) return this.renderHeader();
    this.id = route.id;
    this.session = this.store.sessions.get(this.id) ?? null;
    this.heartbeats = [];
    this.timeline.clear();
    this.beatList.replaceChildren();
    if (viewing()) {
      // A past moment: the session as the store had it (its iterations, as now, are not shown).
      this.notFound.hidden = Boolean(this.session);
      setText(this.notFound, `Session ${this.id} had not started yet at this moment.`);
      return this.renderHeader();
    }
    try {
      const detail = await getJSON(`/api/sessions/${encodeURIComponent(this.id)}`);
      if (route.id !== this.id || viewing()) return; // another page, or the past, since
      this.session = this.store.sessions.get(this.id) ?? detail.session;
      for (const it of detail.iterations ?? []) this.addIteration(it);
      this.addHeartbeats(detail.heartbeats ?? []);
      this.notFound.hidden = true;
    } catch (error) {
      this.notFound.hidden = Boolean(this.session);
      setText(this.notFound, `Session ${this.id} was not found (${error.message}).`);
    }
    this.renderHeader();
  }

  /** The page was left: stop following its output. */
  hide() {
    this.terminal.close();
  }

  addIteration(it) {
    this.timeline.upsert(it.iteration, it, { atTop: false });
  }

  addHeartbeats(beats) {
    this.heartbeats = this.heartbeats.concat(beats).slice(-HEARTBEATS_KEPT);
    for (const b of beats.slice(-20)) {
      this.beatList.prepend(
        h(
          'li',
          { testid: 'session-heartbeat' },
          h('time', {}, clock(b.at)),
          ` iteration ${b.iteration ?? '—'} · ${percent(b.progress_percent)}`,
        ),
      );
    }
    while (this.beatList.childElementCount > 20) this.beatList.lastElementChild.remove();
    this.drawBeats();
  }

  renderHeader() {
    const s = this.session;
    if (!s) return setText(this.title, this.id);
    setText(this.title, s.id);
    const task = s.task_id ? this.store.tasks.get(s.task_id) : null;
    this.facts.replaceChildren(
      ...fact(
        'status',
        h(
          'span',
          { class: 'badge', 'data-status': s.status, testid: 'session-detail-status' },
          s.status ?? '—',
        ),
      ),
      ...fact(
        'iteration',
        `${s.iteration ?? 0} of ${s.max_iterations ?? '?'}`,
        'session-detail-iteration',
      ),
      ...fact('agent', s.agent_name ?? s.agent_id ?? '—'),
      ...fact(
        'task',
        s.task_id ? h('a', { href: link('tasks', s.task_id) }, task?.title ?? s.task_id) : '—',
      ),
      ...fact('started', dateTime(s.started_at)),
      ...fact('duration', duration(s)),
      ...fact('exit code', s.exit_code ?? '—'),
      ...fact('tokens', `${tokens(s.token_usage)} · ${money(s.token_usage?.cost_usd ?? 0)}`),
    );
    this.output.hidden = !s.output_tail || this.terminal.size > 0; // the terminal has it all
    setText(this.output, s.output_tail ?? '');
    this.renderBeatNote();
  }

  renderBeatNote(now = Date.now()) {
    const last = this.heartbeats[this.heartbeats.length - 1];
    setText(
      this.beatNote,
      last ? `${this.heartbeats.length} · last ${ago(last.at, now)}` : 'none yet',
    );
  }

  drawBeats() {
    const canvas = this.beatCanvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    const height = canvas.clientHeight || 60;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.strokeStyle = getComputedStyle(canvas).getPropertyValue('--chart-line').trim() || '#58f';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    const n = this.heartbeats.length;
    this.heartbeats.forEach((b, i) => {
      const x = n > 1 ? (i / (n - 1)) * width : width / 2;
      const y = height - 2 - ((b.progress_percent ?? 0) / 100) * (height - 4);
      if (i) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
    });
    ctx.stroke();
  }

  update(changes) {
    if (!this.id) return;
    if (changes.resync) return this.show({ id: this.id }, true);
    for (const msg of changes.iterations) {
      if (msg.payload.session_id === this.id)
        this.addIteration({ ...msg.payload, seq: msg.seq, at: msg.timestamp });
    }
    const beats = changes.heartbeats
      .filter((m) => m.payload.session_id === this.id)
      .map((m) => ({ seq: m.seq, ...m.payload, at: m.payload.at ?? m.timestamp }));
    if (beats.length) this.addHeartbeats(beats);
    if (changes.sessions.has(this.id)) {
      this.session = this.store.sessions.get(this.id);
      this.renderHeader();
    }
  }

  tick(now) {
    if (this.session) this.renderBeatNote(now);
  }
}

function fact(label, value, testid) {
  return [h('dt', {}, label), h('dd', { testid }, value)];
}

function createIterationItem() {
  const li = h('li', { class: 'timeline-item', testid: 'session-iteration' });
  li.parts = {
    n: h('span', { class: 'timeline-n' }),
    at: h('time', { class: 'muted' }),
    summary: h('p', {}),
    usage: h('span', { class: 'muted' }),
  };
  li.append(
    h('div', { class: 'timeline-head' }, li.parts.n, li.parts.at, li.parts.usage),
    li.parts.summary,
  );
  return li;
}

function updateIterationItem(li, it) {
  setAttr(li, 'data-iteration', it.iteration);
  setText(li.parts.n, `#${it.iteration}`);
  setText(li.parts.at, clock(it.at));
  setText(li.parts.summary, it.summary ?? '');
  setText(
    li.parts.usage,
    it.token_usage ? `${tokens(it.token_usage)} · ${money(it.token_usage.cost_usd ?? 0)}` : '',
  );
}
