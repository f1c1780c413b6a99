// The fleet as it was: a second Store, filled from GET /api/state?at= and then, to play,
// by the log's events folded in order by the same Store.fold that folds live events. The
// live store keeps folding meanwhile; going back to live only switches which one is shown.
//
// Moving: one request in flight at a time, the latest position wins (a drag sends many; the
// ones passed over while a request was out are never asked for). Back in time, or far
// ahead, the hub rebuilds the state; a little ahead (up to a page of events), the events
// in between are read and folded here, as playing does: the hub folds nothing.
// Playing: the events after the moment are read in pages (`/api/events?after=&order=asc`,
// the log as the socket would have sent it) and folded when the played clock reaches their
// time; the clock runs at 1×, 5×, 15× or 60×. Folding the events, rather than asking for
// the state again and again, shows every event on its own (the events list follows) at the
// cost of one request per page, and never skips a short-lived status.

import { getJSON, isAbort } from './api.js';
import { setViewing, viewing } from './moment.js';
import { Store } from './store.js';

export const SPEEDS = [1, 5, 15, 60];
const PAGE = 500; // events read ahead while playing, or at most folded to step forward
const RECENT = 50; // events before the moment, for the streams
const TEST_RUNS = 500; // test results before the moment, for the task cards
const TICK_MS = 100; // how often the played clock advances
const URL_EVERY_MS = 1000; // the address bar follows the played moment at most this often

export class TimeMachine {
  /**
   * onChange(machine): the moment, or playing, changed (for the scrubber and the app);
   * onError(message): a moment could not be shown.
   */
  constructor({ onChange = () => {}, onError = () => {} } = {}) {
    this.past = new Store();
    this.onChange = onChange;
    this.onError = onError;
    this.wanted = null; // the latest position asked for, not yet requested
    this.pumping = false; // a state request is out
    this.generation = 0; // bumped by live(): answers asked for before are not applied
    this.speed = 0; // 0: paused
    this.queue = []; // events read ahead, not yet folded
    this.exhausted = false; // the last page read reached the head
    this.timer = null;
    this.urlWritten = 0;
    this.trace = []; // for the bench: {asked, shown} in performance.now() ms
  }

  /** Shows the fleet as it was at `at` (an ISO time or a seq); a drag calls this often. */
  go(at) {
    this.pause();
    this.wanted = { at, asked: performance.now() };
    if (!this.pumping) this.pump();
  }

  async pump() {
    this.pumping = true;
    while (this.wanted) {
      const next = this.wanted;
      const generation = this.generation;
      this.wanted = null;
      try {
        if (!(await this.stepForward(next, generation))) {
          const snap = await getJSON('/api/state', { at: next.at });
          if (generation === this.generation) this.show(snap, next.asked);
        }
      } catch (error) {
        if (!isAbort(error)) this.onError(`cannot show ${next.at}: ${error.message}`);
      }
    }
    this.pumping = false;
    if (viewing()) this.loadRecent(viewing().seq);
  }

  /**
   * Moves the moment shown forward to the time `next.at` by folding the events in between,
   * when they fit in one page; false when the hub must rebuild it instead (back in time,
   * a seq, nothing shown yet, or further than a page).
   */
  async stepForward(next, generation) {
    const moment = viewing();
    const toMs = Date.parse(next.at);
    if (!moment?.at || /^[0-9]+$/.test(next.at) || !(toMs >= Date.parse(moment.at))) return false;
    const page = await getJSON('/api/events', { after: moment.seq, order: 'asc', limit: PAGE });
    if (generation !== this.generation || viewing()?.seq !== moment.seq) return true; // moved on
    const due = page.items.filter((m) => Date.parse(m.timestamp) <= toMs);
    if (page.next_cursor && due.length === page.items.length) return false; // further than a page
    const last = due[due.length - 1];
    const applied = performance.now();
    const entry = { asked: next.asked, applied, shown: null, seq: moment.seq, how: 'fold' };
    if (last) {
      this.past.ingest(due); // the page is drawn on the store's next flush (shownTrace)
      setViewing({ seq: last.seq, at: last.timestamp });
      entry.seq = last.seq;
    } else entry.shown = entry.applied; // nothing happened in between: already shown
    this.trace.push(entry);
    this.writeUrl(true);
    this.onChange(this);
    return true;
  }

  /** Applies a rebuilt state as the moment shown. */
  show(snap, asked) {
    const moment = { seq: snap.seq, at: snap.at ?? null };
    this.past.events.clear();
    this.past.telegram.clear();
    this.past.testRuns.clear();
    this.past.tools.clear();
    this.past.applySnapshot(snap);
    this.past.pending.resync = true; // lists rebuild from this store, not the hub's
    this.queue = [];
    this.exhausted = false;
    setViewing(moment);
    const applied = performance.now();
    this.trace.push({ asked, applied, shown: null, seq: moment.seq, how: 'rebuild' });
    if (this.trace.length > 10_000) this.trace.splice(0, 5000);
    this.past.schedule({ urgent: true });
    this.writeUrl(true);
    this.onChange(this);
  }

  /** The pages drew the past store at `seq` (for the bench: pointer to page). */
  shownTrace(seq) {
    const last = this.trace[this.trace.length - 1];
    if (last && last.seq === seq && last.shown === null) last.shown = performance.now();
  }

  /** The events just before the moment, for the streams (dashboard, events list), and the
   *  test results then, for the task cards (as the live page loads them after a snapshot). */
  async loadRecent(seq) {
    const before = seq + 1;
    try {
      const [events, tests] = await Promise.all([
        getJSON('/api/events', { before, order: 'desc', limit: RECENT }),
        getJSON('/api/events', { type: 'test:*', before, order: 'desc', limit: TEST_RUNS }),
      ]);
      if (viewing()?.seq !== seq) return;
      this.past.backfillEvents(events.items);
      this.past.backfillTestRuns(tests.items.map((m) => m.payload.test_run));
    } catch (error) {
      console.warn('events before the moment unavailable:', error.message);
    }
  }

  /** Back to the live store (which kept folding); drops what was asked for the past. */
  live() {
    this.pause();
    this.wanted = null;
    this.generation += 1; // an answer still on its way is not applied
    setViewing(null);
    this.writeUrl(true);
    this.onChange(this);
  }

  /** Plays from the moment shown at `speed` (1, 5, 15 or 60 times real time). */
  play(speed) {
    const moment = viewing();
    if (!moment || !SPEEDS.includes(speed)) return;
    this.speed = speed;
    this.clock = { from: Date.parse(moment.at ?? 0) || 0, real: performance.now() };
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.onChange(this);
    this.readAhead();
  }

  pause() {
    if (!this.speed) return;
    this.speed = 0;
    clearInterval(this.timer);
    this.timer = null;
    this.onChange(this);
  }

  get playing() {
    return this.speed > 0;
  }

  /** The played clock, in ms since the epoch. */
  playedTime() {
    return this.clock.from + (performance.now() - this.clock.real) * this.speed;
  }

  async readAhead() {
    if (this.reading || this.exhausted || this.queue.length > PAGE / 2) return;
    const moment = viewing();
    if (!moment) return;
    const after = this.queue.length ? this.queue[this.queue.length - 1].seq : moment.seq;
    this.reading = true;
    try {
      const page = await getJSON('/api/events', { after, order: 'asc', limit: PAGE });
      if (viewing() && this.playing) {
        this.queue.push(...page.items.filter((m) => m.seq > after));
        this.exhausted = !page.next_cursor;
      }
    } catch (error) {
      this.onError(`cannot read the events to play: ${error.message}`);
      this.pause();
    } finally {
      this.reading = false;
    }
  }

  /** Folds the events the played clock has reached. */
  tick() {
    if (!viewing()) return this.pause();
    const now = this.playedTime();
    let n = 0;
    while (n < this.queue.length && Date.parse(this.queue[n].timestamp) <= now) n += 1;
    const due = this.queue.splice(0, n);
    if (due.length) {
      this.past.ingest(due);
      const last = due[due.length - 1];
      setViewing({ seq: last.seq, at: last.timestamp });
    }
    if (!this.queue.length && this.exhausted) return this.pause(); // played up to the head
    this.readAhead();
    this.writeUrl(false);
    this.onChange(this);
  }

  /** `?at=` before the #route carries the moment shown (none while live). */
  writeUrl(now) {
    if (!now && performance.now() - this.urlWritten < URL_EVERY_MS) return;
    this.urlWritten = performance.now();
    const url = new URL(location.href);
    const moment = viewing();
    if (moment) url.searchParams.set('at', moment.at ?? String(moment.seq));
    else url.searchParams.delete('at');
    if (url.href !== location.href) history.replaceState(history.state, '', url);
  }
}

/** The moment a page was opened at (`?at=` before the #route), or null. */
export function linkedMoment() {
  return new URL(location.href).searchParams.get('at') || null;
}
