// A session's output as a terminal (issue 16): the kept lines from REST, then the live
// ones from a socket of its own in the session's room (`session:output` is not in the
// dashboard's `*` stream). ANSI colours rendered; follow mode, which stops when the reader
// scrolls up and comes back at the bottom; search over the lines held; a virtual list
// (only the rows in view are in the DOM) so that 100,000 lines stay smooth.
//
// Lines are numbered by the hub without gaps, so every line is kept once, by its number:
// a reconnect resumes the socket from the last seq it had (`since`), and after a `reset`
// the lines missed are paged again from REST.
//
// Tool calls (`session:tool`, each naming the last output line before it) come from the
// log and the same socket: the rows where they happened are marked, and the ◀ tool ▶
// buttons jump from one to the next.

import { plain, runs } from '../ansi.js';
import { getJSON } from '../api.js';
import { h, setAttr, setText } from '../dom.js';
import { HubSocket } from '../socket.js';

const MAX_LINES = 100_000;
const PAGE = 5000;
const OVERSCAN = 20;
const FALLBACK_ROW_PX = 18;

export class OutputTerminal {
  constructor() {
    this.id = null;
    this.socket = null;
    this.lines = [];
    this.lastN = 0;
    this.seq = 0;
    this.epoch = null;
    this.follow = true;
    this.frame = 0;
    this.rowPx = 0;
    this.query = '';
    this.matches = [];
    this.current = -1;
    this.note = h('span', { class: 'panel-note', testid: 'terminal-note' });
    this.search = h('input', {
      type: 'search',
      class: 'terminal-search',
      placeholder: 'Search output',
      'aria-label': 'Search the output',
      testid: 'terminal-search',
      oninput: () => this.find(this.search.value),
      onkeydown: (event) => {
        if (event.key === 'Enter') this.jump(event.shiftKey ? -1 : 1);
      },
    });
    this.found = h('span', { class: 'panel-note', testid: 'terminal-matches' });
    this.tools = [];
    this.toolSeqs = new Set();
    this.toolAt = new Map();
    this.toolCurrent = -1;
    this.toolNote = h('span', { class: 'panel-note terminal-tool', testid: 'terminal-tool' });
    const toolButton = (label, step, title) =>
      h(
        'button',
        {
          type: 'button',
          class: 'button small',
          title,
          testid: step < 0 ? 'terminal-tool-prev' : 'terminal-tool-next',
          onclick: () => this.jumpTool(step),
        },
        label,
      );
    this.followButton = h(
      'button',
      {
        type: 'button',
        class: 'button small',
        testid: 'terminal-follow',
        onclick: () => this.setFollow(true),
      },
      'Follow',
    );
    this.rowsBox = h('div', { class: 'terminal-rows', testid: 'terminal-rows' });
    this.inner = h('div', { class: 'terminal-inner' }, this.rowsBox);
    this.viewport = h(
      'div',
      { class: 'terminal', testid: 'terminal-viewport', tabindex: '0', role: 'log' },
      this.inner,
    );
    this.viewport.addEventListener('scroll', () => this.scrolled(), { passive: true });
    this.el = h(
      'section',
      { class: 'panel terminal-panel', testid: 'session-terminal' },
      h(
        'header',
        { class: 'panel-head terminal-head' },
        h('h2', {}, 'Output'),
        this.note,
        h(
          'span',
          { class: 'terminal-tools' },
          this.search,
          this.found,
          h('button', { type: 'button', class: 'button small', onclick: () => this.jump(-1) }, '↑'),
          h('button', { type: 'button', class: 'button small', onclick: () => this.jump(1) }, '↓'),
          toolButton('◀ tool', -1, 'Previous tool call'),
          this.toolNote,
          toolButton('tool ▶', 1, 'Next tool call'),
          this.followButton,
        ),
      ),
      this.viewport,
    );
    this.setFollow(true);
  }

  get size() {
    return this.lines.length;
  }

  /** Shows a session's output (and follows it), unless it is shown already. */
  open(sessionId) {
    if (this.id === sessionId && this.socket) return;
    this.close();
    this.id = sessionId;
    this.lines = [];
    this.lastN = 0;
    this.seq = 0;
    this.firstKept = null;
    this.tools = [];
    this.toolSeqs = new Set();
    this.toolAt = new Map();
    this.toolCurrent = -1;
    this.renderTool();
    this.setFollow(true);
    this.find(this.search.value);
    this.load(sessionId);
  }

  /** Stops following (the page was left). */
  close() {
    this.socket?.stop();
    this.socket = null;
    this.id = null;
  }

  async load(sessionId) {
    try {
      await Promise.all([this.page(sessionId), this.pageTools(sessionId)]);
    } catch (error) {
      if (sessionId === this.id) setText(this.note, `output unavailable (${error.message})`);
      return;
    }
    if (sessionId !== this.id || this.socket) return;
    const room = encodeURIComponent(`session:${sessionId}`);
    this.socket = new HubSocket({
      path: `/ws?monitor=${room}&types=session:output,session:tool`,
      position: () => ({ seq: this.seq, epoch: this.epoch }),
      onMessages: (messages) => this.receive(sessionId, messages),
      onReset: () => {},
      onStatus: () => {},
    });
    this.socket.start();
  }

  /** The kept lines after the last one held, from REST; the first page sets `seq`. */
  async page(sessionId) {
    const path = `/api/sessions/${encodeURIComponent(sessionId)}/output`;
    for (;;) {
      const page = await getJSON(path, { after: this.lastN, limit: PAGE });
      if (sessionId !== this.id) return;
      if (!this.seq) this.seq = page.seq;
      this.firstKept ??= page.first_line;
      this.add(page.lines);
      if (page.next_after === null) return;
    }
  }

  /** The session's tool calls so far, from the log (oldest first). */
  async pageTools(sessionId) {
    const query = { room: `session:${sessionId}`, type: 'session:tool', order: 'asc', limit: 1000 };
    for (;;) {
      const page = await getJSON('/api/events', query);
      if (sessionId !== this.id) return;
      for (const event of page.items) this.addTool(event);
      if (!page.next_cursor) return;
      query.cursor = page.next_cursor;
    }
  }

  /** Keeps a tool call once (by seq), in seq order, marking the line it came after. */
  addTool(event) {
    const call = event.payload;
    if (this.toolSeqs.has(event.seq) || typeof call?.line !== 'number') return;
    this.toolSeqs.add(event.seq);
    const tool = { seq: event.seq, line: call.line, label: toolLabel(call) };
    let i = this.tools.length;
    while (i > 0 && this.tools[i - 1].seq > tool.seq) i -= 1;
    this.tools.splice(i, 0, tool);
    if (i <= this.toolCurrent) this.toolCurrent += 1;
    const labels = this.toolAt.get(tool.line) ?? [];
    labels.push(tool.label);
    this.toolAt.set(tool.line, labels);
    this.renderTool();
    this.schedule();
  }

  renderTool() {
    const n = this.tools.length;
    if (!n) return setText(this.toolNote, 'no tool calls');
    const shown = this.tools[this.toolCurrent < 0 ? n - 1 : this.toolCurrent];
    const where = this.toolCurrent < 0 ? `latest of ${n}` : `${this.toolCurrent + 1} of ${n}`;
    setText(this.toolNote, `${shown.label} (${where})`);
  }

  /** Shows the next (1) or previous (-1) tool call's line, centred; following stops. */
  jumpTool(step) {
    const n = this.tools.length;
    if (!n) return;
    const from = this.toolCurrent < 0 ? n : this.toolCurrent;
    this.toolCurrent = Math.min(n - 1, Math.max(0, from + step));
    this.setFollow(false);
    const line = this.tools[this.toolCurrent].line;
    const index = this.indexOf(line);
    const px = this.rowHeight();
    const v = this.viewport;
    v.scrollTop = Math.max(0, Math.max(0, index) * px - (v.clientHeight - px) / 2);
    this.renderTool();
    this.render();
  }

  /** The index in `lines` of line number `n` (or of the first after it). */
  indexOf(n) {
    let lo = 0;
    let hi = this.lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lines[mid].n < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  receive(sessionId, messages) {
    if (sessionId !== this.id) return;
    for (const msg of messages) {
      if (msg.type === 'welcome') this.epoch = msg.payload?.epoch ?? this.epoch;
      else if (msg.type === 'snapshot') {
        // After a reset: live events follow this seq; what came before is paged again.
        this.seq = msg.payload?.seq ?? this.seq;
        this.page(sessionId).catch(() => {});
      } else if (msg.seq) {
        this.seq = Math.max(this.seq, msg.seq);
        if (msg.type === 'session:output') this.add(msg.payload.lines);
        else if (msg.type === 'session:tool') this.addTool(msg);
      }
    }
  }

  /** Keeps lines after the last one held (in number order), at most MAX_LINES. */
  add(lines) {
    const fresh = lines.filter((line) => line.n > this.lastN);
    if (!fresh.length) return;
    this.lastN = fresh[fresh.length - 1].n;
    const start = this.lines.length;
    for (const line of fresh) this.lines.push(line);
    if (this.query) this.matchFrom(start);
    const over = this.lines.length - MAX_LINES;
    if (over > 0) this.dropOldest(over);
    this.schedule();
  }

  dropOldest(count) {
    this.lines.splice(0, count);
    this.matches = this.matches.map((i) => i - count).filter((i) => i >= 0);
    this.current = Math.min(this.current, this.matches.length - 1);
    if (!this.follow) this.viewport.scrollTop -= count * this.rowHeight();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  setFollow(on) {
    this.follow = on;
    setAttr(this.followButton, 'aria-pressed', on ? 'true' : 'false');
    setAttr(this.el, 'data-follow', on ? 'on' : 'off');
    if (on) this.schedule();
  }

  /** The reader scrolled: at the bottom it follows again, anywhere else it stops. */
  scrolled() {
    const v = this.viewport;
    const atBottom = v.scrollTop + v.clientHeight >= v.scrollHeight - this.rowHeight();
    if (atBottom !== this.follow) this.setFollow(atBottom);
    this.schedule();
  }

  rowHeight() {
    if (!this.rowPx && this.rowsBox.firstElementChild) {
      this.rowPx = this.rowsBox.firstElementChild.offsetHeight || 0;
    }
    return this.rowPx || FALLBACK_ROW_PX;
  }

  /** Shows the rows in view (plus OVERSCAN each side); at the bottom when following. */
  render() {
    this.frame = 0;
    const px = this.rowHeight();
    const total = this.lines.length;
    this.inner.style.height = `${total * px}px`;
    const v = this.viewport;
    if (this.follow) v.scrollTop = v.scrollHeight;
    const view = v.clientHeight || 400;
    const first = Math.max(0, Math.floor(v.scrollTop / px) - OVERSCAN);
    const last = Math.min(total, Math.ceil((v.scrollTop + view) / px) + OVERSCAN);
    this.rowsBox.style.transform = `translateY(${first * px}px)`;
    const rows = this.rowsBox.children;
    while (rows.length > last - first) this.rowsBox.lastElementChild.remove();
    while (rows.length < last - first) this.rowsBox.append(createRow());
    const current = this.matches[this.current];
    const tool = this.tools[this.toolCurrent]?.line;
    for (let i = first; i < last; i += 1) {
      const row = rows[i - first];
      const line = this.lines[i];
      fillRow(row, line, this.query && this.isMatch(i), i === current);
      const calls = this.toolAt.get(line.n);
      setAttr(row, 'data-tool', calls ? (line.n === tool ? 'current' : 'yes') : null);
      setAttr(row, 'title', calls ? `then: ${calls.join(', ')}` : null);
    }
    if (!this.rowPx && rows.length) this.rowHeight();
    this.renderNote();
  }

  renderNote() {
    const parts = [`${this.lines.length.toLocaleString()} lines`];
    if (this.firstKept > 1) parts.push(`older than line ${this.firstKept} not kept`);
    if (!this.follow) parts.push('paused');
    setText(this.note, parts.join(' · '));
  }

  /** Finds the lines holding `query` (case-insensitive, colours ignored). */
  find(query) {
    this.query = query.trim().toLowerCase();
    this.matches = [];
    this.matchSet = new Set();
    this.current = -1;
    if (this.query) this.matchFrom(0);
    this.renderFound();
    this.schedule();
  }

  matchFrom(start) {
    for (let i = start; i < this.lines.length; i += 1) {
      if (plain(this.lines[i].text).toLowerCase().includes(this.query)) {
        this.matches.push(i);
        this.matchSet.add(this.lines[i].n);
      }
    }
    this.renderFound();
  }

  isMatch(index) {
    return this.matchSet.has(this.lines[index].n);
  }

  renderFound() {
    if (!this.query) return setText(this.found, '');
    const n = this.matches.length;
    if (!n) return setText(this.found, 'no match');
    setText(
      this.found,
      this.current < 0 ? `${n} ${n === 1 ? 'match' : 'matches'}` : `${this.current + 1} of ${n}`,
    );
  }

  /** Shows the next (1) or previous (-1) match, centred; following stops there. */
  jump(step) {
    const n = this.matches.length;
    if (!n) return;
    this.current = this.current < 0 ? (step > 0 ? 0 : n - 1) : (this.current + step + n) % n;
    this.setFollow(false);
    const px = this.rowHeight();
    const v = this.viewport;
    v.scrollTop = Math.max(0, this.matches[this.current] * px - (v.clientHeight - px) / 2);
    this.renderFound();
    this.render();
  }
}

function toolLabel(call) {
  const target = call.target ? ` ${call.target.split('\n')[0].slice(0, 80)}` : '';
  const status = call.status === 'started' ? '' : ` (${call.status})`;
  return `${call.tool}${target}${status}`;
}

function createRow() {
  const row = h('div', { class: 'term-line', testid: 'terminal-line' });
  row.n = h('span', { class: 'term-n', 'aria-hidden': 'true' });
  row.text = h('span', { class: 'term-text' });
  row.append(row.n, row.text);
  return row;
}

function fillRow(row, line, match, current) {
  setAttr(row, 'data-match', match ? (current ? 'current' : 'yes') : null);
  if (row.line === line) return;
  row.line = line;
  setAttr(row, 'data-n', line.n);
  setAttr(row, 'data-stream', line.stream);
  setText(row.n, line.n);
  row.text.replaceChildren(
    ...runs(line.text).map((r) => {
      if (!r.classes.length && !r.color && !r.background) return r.text;
      const span = h('span', { class: r.classes.join(' ') || null }, r.text);
      if (r.color) span.style.color = r.color;
      if (r.background) span.style.backgroundColor = r.background;
      return span;
    }),
  );
}
