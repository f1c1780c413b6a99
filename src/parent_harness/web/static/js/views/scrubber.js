// The timeline under the header, on every page: how busy the log was (bars), where it
// failed (red marks above) and where alerts went out (marks below), from
// GET /api/history/timeline. Dragging it shows the fleet as it was (the time machine);
// while the past is shown the bar says so ("viewing 03:12:07 — back to live"), and play
// runs the log forward from there at 1× to 60×. Esc goes back to live.

import { getJSON } from '../api.js';
import { h, setAttr, setText } from '../dom.js';
import { clock, count, dateTime } from '../format.js';
import { viewing } from '../moment.js';
import { SPEEDS } from '../time_machine.js';

const BUCKETS_PER_PX = 0.5; // one bar every 2 px
const MAX_BUCKETS = 2000; // the route's limit
const REFRESH_MS = 15_000; // the density again while live, when the log grew

export class Scrubber {
  constructor(root, machine, { liveSeq }) {
    this.root = root;
    this.machine = machine;
    this.liveSeq = liveSeq;
    this.data = null;
    this.loadedSeq = -1;
    this.dragging = false;
    this.canvas = h('canvas', { class: 'scrubber-canvas', 'aria-hidden': 'true' });
    this.knob = h('div', { class: 'scrubber-knob', testid: 'scrubber-knob', hidden: true });
    this.hover = h('div', { class: 'scrubber-hover', testid: 'scrubber-hover', hidden: true });
    this.track = h(
      'div',
      {
        class: 'scrubber-track',
        testid: 'scrubber-track',
        role: 'slider',
        tabindex: '0',
        'aria-label': 'the fleet at a moment of the log: drag to look back',
        onpointerdown: (e) => this.down(e),
        onpointermove: (e) => this.move(e),
        onpointerup: (e) => this.up(e),
        onpointercancel: (e) => this.up(e),
        onpointerleave: () => {
          this.hover.hidden = true;
        },
      },
      this.canvas,
      this.hover,
      this.knob,
    );
    this.label = h('span', { class: 'scrubber-label', testid: 'scrubber-label' }, 'live');
    this.summary = null;
    this.error = null;
    this.liveButton = h(
      'button',
      {
        class: 'button small scrubber-live',
        type: 'button',
        testid: 'scrubber-live',
        title: 'back to the fleet as it is now (Esc)',
        onclick: () => this.machine.live(),
      },
      'back to live',
    );
    this.speedButtons = SPEEDS.map((speed) =>
      h(
        'button',
        {
          class: 'button small speed',
          type: 'button',
          testid: `scrubber-play-${speed}`,
          'aria-pressed': 'false',
          title: `play the log from this moment at ${speed}× real time`,
          onclick: () => this.togglePlay(speed),
        },
        `▶ ${speed}×`,
      ),
    );
    this.controls = h('div', { class: 'scrubber-controls' }, ...this.speedButtons);
    root.replaceChildren(
      h('div', { class: 'scrubber-state' }, this.label, this.liveButton),
      this.track,
      this.controls,
    );
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && viewing() && !document.querySelector('dialog[open]'))
        this.machine.live();
    });
    window.addEventListener('resize', () => this.draw());
    setInterval(() => this.refresh(), REFRESH_MS);
    this.render();
  }

  /** The density of the whole kept log, as many bars as the track has room for. */
  async load() {
    const width = this.track.clientWidth || 600;
    const buckets = Math.max(1, Math.min(MAX_BUCKETS, Math.round(width * BUCKETS_PER_PX)));
    try {
      const seq = this.liveSeq();
      this.data = await getJSON('/api/history/timeline', { buckets });
      this.loadedSeq = seq;
      this.root.dataset.fromMs = this.data.start_ms;
      this.root.dataset.toMs = this.data.end_ms;
      this.root.dataset.loaded = 'true';
      this.draw();
      this.render();
    } catch (error) {
      console.warn('timeline unavailable:', error.message);
    }
  }

  /** Reloads the density while live when the log grew (the past does not change). */
  refresh() {
    if (!viewing() && !this.dragging && this.liveSeq() !== this.loadedSeq) this.load();
  }

  draw() {
    const data = this.data;
    if (!data) return;
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth || 600;
    const height = this.canvas.clientHeight || 28;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(this.root);
    const color = (name) => style.getPropertyValue(name).trim() || '#888';
    const buckets = data.buckets;
    const step = width / buckets.length;
    // Square root: a quiet stretch still shows beside a storm.
    const peak = Math.sqrt(Math.max(1, ...buckets.map((b) => b.events)));
    const room = height - 8;
    ctx.fillStyle = color('--chart-bar');
    buckets.forEach((b, i) => {
      if (!b.events) return;
      const barH = Math.max(1, (Math.sqrt(b.events) / peak) * room);
      ctx.fillRect(i * step, height - 3 - barH, Math.max(1, step - 0.5), barH);
    });
    ctx.fillStyle = color('--crit');
    buckets.forEach((b, i) => {
      if (b.failures) ctx.fillRect(i * step, 0, Math.max(2, step), 4);
    });
    ctx.fillStyle = color('--warn');
    buckets.forEach((b, i) => {
      if (b.alerts) ctx.fillRect(i * step, height - 3, Math.max(2, step), 3);
    });
    const failures = buckets.reduce((n, b) => n + b.failures, 0);
    const alerts = buckets.reduce((n, b) => n + b.alerts, 0);
    setAttr(this.root, 'data-failures', failures);
    setAttr(this.root, 'data-alerts', alerts);
    const events = buckets.reduce((n, b) => n + b.events, 0);
    this.summary = `${dateTime(data.start)} → ${dateTime(data.end)}: ${count(events)} events, ${count(
      failures,
    )} failures (red, above), ${count(alerts)} alerts (below)`;
    setAttr(this.track, 'title', this.summary);
  }

  /** ms since the epoch under a pointer at clientX. */
  timeAt(clientX) {
    const box = this.track.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (clientX - box.left) / Math.max(1, box.width)));
    return Math.round(this.data.start_ms + x * (this.data.end_ms - this.data.start_ms));
  }

  down(event) {
    if (!this.data || event.button !== 0) return;
    this.dragging = true;
    this.track.setPointerCapture?.(event.pointerId);
    this.seek(event.clientX);
  }

  move(event) {
    if (!this.data) return;
    const ms = this.timeAt(event.clientX);
    this.place(this.hover, ms);
    this.hover.hidden = this.dragging;
    setAttr(this.track, 'title', `${clock(ms)} · ${this.summary ?? ''}`);
    if (this.dragging) this.seek(event.clientX);
  }

  up(event) {
    if (!this.dragging) return;
    this.dragging = false;
    this.track.releasePointerCapture?.(event.pointerId);
  }

  /** Asks for the moment under the pointer; the knob and the label follow at once. */
  seek(clientX) {
    const ms = this.timeAt(clientX);
    this.pointedAt = ms;
    this.place(this.knob, ms);
    this.knob.hidden = false;
    this.machine.go(new Date(ms).toISOString());
    this.render();
  }

  place(el, ms) {
    const d = this.data;
    const x = d.end_ms > d.start_ms ? (ms - d.start_ms) / (d.end_ms - d.start_ms) : 1;
    el.style.left = `${Math.min(100, Math.max(0, x * 100))}%`;
  }

  togglePlay(speed) {
    if (this.machine.playing && this.machine.speed === speed) this.machine.pause();
    else this.machine.play(speed);
  }

  /** A moment that could not be shown (outside the log, the hub away): said in the bar. */
  showError(message) {
    this.error = message;
    this.render();
  }

  /** The moment shown changed: an earlier error is over. */
  changed() {
    this.error = null;
    this.render();
  }

  /** The bar's words and marks for the moment shown (called on every change). */
  render() {
    setAttr(this.root, 'data-error', this.error ? 'true' : null);
    const moment = viewing();
    const machine = this.machine;
    setAttr(this.root, 'data-mode', moment ? 'past' : 'live');
    setAttr(this.root, 'data-playing', machine.playing ? String(machine.speed) : null);
    setAttr(this.root, 'data-seq', moment ? moment.seq : null);
    for (const [i, button] of this.speedButtons.entries()) {
      button.disabled = !moment;
      setAttr(button, 'aria-pressed', String(machine.playing && machine.speed === SPEEDS[i]));
    }
    if (!moment) {
      this.knob.hidden = true;
      setText(this.label, this.error ?? 'live — drag the timeline to look back');
      return;
    }
    const shownMs = machine.playing ? machine.playedTime() : Date.parse(moment.at ?? '');
    if (this.data && !this.dragging && !Number.isNaN(shownMs)) {
      this.place(this.knob, shownMs);
      this.knob.hidden = false;
    }
    const when = Number.isNaN(shownMs) ? `seq ${moment.seq}` : clock(shownMs);
    const mode = machine.playing ? `▶ ${machine.speed}×` : '(read-only)';
    setText(this.label, this.error ?? `viewing ${when} ${mode} —`);
    setAttr(this.label, 'title', `the fleet right after event ${moment.seq} (${moment.at ?? ''})`);
  }
}
