// Current state in the browser: the hub's snapshot, then every event folded in
// seq order. Entities arrive whole (the hub merges them), so an update replaces
// by id. Views learn what changed through one batched signal, a few times a second.

const FLUSH_EVERY_MS = 200;
const EVENT_RING = 1000; // recent events kept for the stream views
// Events kept for one render: as many as the Event Bus holds (views/events.js MAX_ROWS), so a
// burst that arrives between two renders reaches it whole.
const PENDING_EVENTS = 2000;
const TELEGRAM_RING = 500;
const TERMINAL_KEEP = 2000; // finished tasks / sessions kept beside the active ones
const TERMINAL_TASK = new Set(['completed', 'failed', 'cancelled']);
export const ACTIVE_TASK = new Set([
  'pending',
  'queued',
  'blocked',
  'assigned',
  'running',
  'testing',
]);

/** What changed since the last signal. `reset`: everything may have changed. */
function noChanges() {
  return {
    reset: false,
    resync: false,
    agents: new Set(),
    tasks: new Set(),
    sessions: new Set(),
    budget: false,
    testRuns: new Set(),
    workspaces: new Set(), // task ids whose attempts (workspaces) changed
    workers: new Set(), // worker ids (machines, issue 19)
    approvals: new Set(), // approval ids that were asked or decided
    events: [],
    telegram: [],
    iterations: [],
    heartbeats: [],
    eventsDropped: 0,
    streamReloaded: false, // older events were merged into the rings: redraw the streams
  };
}

/** Keeps the newest `limit` event messages, ordered by seq, without doubles. */
export class EventRing {
  constructor(limit) {
    this.limit = limit;
    this.items = [];
    this.seqs = new Set();
  }

  push(msg) {
    if (this.seqs.has(msg.seq)) return false;
    const last = this.items[this.items.length - 1];
    if (last && last.seq > msg.seq) return this.merge([msg]) > 0;
    this.items.push(msg);
    this.seqs.add(msg.seq);
    this.trim();
    return true;
  }

  /** Merges older messages (a REST page); returns how many were new. */
  merge(messages) {
    const fresh = messages.filter((m) => !this.seqs.has(m.seq));
    if (!fresh.length) return 0;
    for (const m of fresh) this.seqs.add(m.seq);
    this.items = this.items.concat(fresh).sort((a, b) => a.seq - b.seq);
    this.trim();
    return fresh.length;
  }

  trim() {
    const extra = this.items.length - this.limit;
    if (extra <= 0) return;
    for (const m of this.items.splice(0, extra)) this.seqs.delete(m.seq);
  }

  clear() {
    this.items = [];
    this.seqs.clear();
  }

  /** The newest n, newest last. */
  latest(n) {
    return this.items.slice(-n);
  }
}

export class Store {
  constructor() {
    this.agents = new Map();
    this.tasks = new Map();
    this.sessions = new Map();
    this.taskCounts = {};
    this.budget = null;
    this.testRuns = new Map(); // task id -> latest test run
    this.workspaces = new Map(); // workspace id -> workspace (one per task attempt)
    this.workers = new Map(); // worker id -> worker (a machine running agents, issue 19)
    this.approvals = new Map(); // approval id -> approval, the pending ones only
    this.events = new EventRing(EVENT_RING);
    this.telegram = new EventRing(TELEGRAM_RING);
    this.tools = new Map(); // agent id -> its latest `session:tool` payload
    this.seq = 0;
    this.epoch = null;
    this.loaded = false; // a snapshot has been applied since the last reset
    this.snapshots = 0;
    this.lastEventAt = null;
    this.lastReplay = null;
    this.listeners = new Set();
    this.pending = noChanges();
    this.flushScheduled = false;
    this.lastFlush = 0;
  }

  /** Calls fn(changes) after each batch; returns the unsubscribe function. */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Where to resume from (for `since`), or null when a snapshot is needed. */
  position() {
    return this.loaded ? { seq: this.seq, epoch: this.epoch } : null;
  }

  /** Applies server messages in order (welcome, snapshot, replayed, events). */
  ingest(messages) {
    const seq = this.seq;
    let snapshot = false;
    for (const msg of messages) {
      if (typeof msg.seq === 'number' && msg.type !== 'snapshot') this.applyEvent(msg);
      else snapshot = this.applyControl(msg) || snapshot;
    }
    // The first paint waits for nothing; nor does an agent waiting for a human (an approval
    // asked or decided is drawn on the next frame, not at the next batched flush).
    if (snapshot || this.pending.approvals.size) this.schedule({ urgent: true });
    else if (this.seq !== seq) this.schedule();
  }

  /** The hub cannot replay: keep showing what we have until the new snapshot. */
  markReset() {
    this.loaded = false;
  }

  /** Applies a message without a seq; true when it was a snapshot. */
  applyControl(msg) {
    const p = msg.payload ?? {};
    if (msg.type === 'welcome') {
      if (this.epoch && p.epoch && p.epoch !== this.epoch) this.events.clear();
      this.epoch = p.epoch ?? this.epoch;
    } else if (msg.type === 'snapshot') {
      this.applySnapshot(p);
      return true;
    } else if (msg.type === 'replayed') {
      this.lastReplay = p;
    }
    return false;
  }

  applySnapshot(snap) {
    this.agents = byId(snap.agents);
    this.tasks = byId(snap.tasks);
    this.sessions = byId(snap.sessions);
    this.workspaces = byId(snap.workspaces ?? []);
    this.workers = byId(snap.workers ?? []);
    this.approvals = byId((snap.approvals ?? []).filter((a) => a.status === 'pending'));
    this.budget = snap.budget ?? null;
    this.taskCounts = { ...(snap.task_counts ?? {}) }; // every task in the store, by status
    this.seq = snap.seq ?? 0;
    this.loaded = true;
    this.snapshots += 1;
    this.pending = noChanges();
    this.pending.reset = true;
    this.pending.resync = this.snapshots > 1; // a reload after a reset, not the page's first
  }

  applyEvent(msg) {
    if (msg.seq <= this.seq) return; // already applied (replay overlap, doubled frame)
    this.seq = msg.seq;
    const at = Date.parse(msg.timestamp);
    this.lastEventAt = Number.isNaN(at) ? Date.now() : Math.min(at, Date.now());
    this.fold(msg);
    this.events.push(msg);
    const changes = this.pending;
    changes.events.push(msg);
    if (changes.events.length > PENDING_EVENTS) {
      changes.eventsDropped += changes.events.length - PENDING_EVENTS;
      changes.events.splice(0, changes.events.length - PENDING_EVENTS);
    }
  }

  fold(msg) {
    const p = msg.payload;
    const changes = this.pending;
    if (p.agent) put(this.agents, p.agent, changes.agents);
    else if (p.task) {
      this.countTask(p.previous_status, p.task.status);
      put(this.tasks, p.task, changes.tasks);
    } else if (p.session) put(this.sessions, p.session, changes.sessions);
    else if (p.budget) {
      this.budget = p.budget;
      changes.budget = true;
    } else if (p.test_run) this.foldTestRun(p.test_run);
    else if (p.workspace) this.foldWorkspace(p.workspace);
    else if (p.worker) put(this.workers, p.worker, changes.workers);
    else if (p.approval) this.foldApproval(p.approval);
    else if (msg.type === 'agent:heartbeat') this.foldAgentHeartbeat(p);
    else if (msg.type === 'session:iteration') this.foldIteration(msg);
    else if (msg.type === 'session:heartbeat') changes.heartbeats.push(msg);
    else if (msg.type === 'telegram:message' && this.telegram.push(msg)) changes.telegram.push(msg);
    else if (msg.type === 'session:tool') this.foldTool(p);
  }

  /** The tool an agent called last (`session:tool`, from the adapters; a hub without the
   * type simply never sends it). */
  foldTool(p) {
    if (!p.agent_id) return;
    this.tools.set(p.agent_id, p);
    this.pending.agents.add(p.agent_id);
  }

  /** Keeps the per-status counts exact: the hub says which status a task left. */
  countTask(previous, status) {
    if (previous === status) return;
    const counts = this.taskCounts;
    if (previous) counts[previous] = Math.max(0, (counts[previous] ?? 1) - 1);
    if (status) counts[status] = (counts[status] ?? 0) + 1;
  }

  foldTestRun(run) {
    if (!run.task_id) return;
    this.testRuns.set(run.task_id, run);
    this.pending.testRuns.add(run.task_id);
  }

  foldWorkspace(workspace) {
    this.workspaces.set(workspace.id, workspace);
    if (workspace.task_id) this.pending.workspaces.add(workspace.task_id);
  }

  /** An approval stays while it is pending; decided (answered, expired, cancelled), it goes.
   * The hub carries a late answer with the approval as it stands, so the first decision holds. */
  foldApproval(approval) {
    if (approval.status === 'pending') this.approvals.set(approval.id, approval);
    else this.approvals.delete(approval.id);
    this.pending.approvals.add(approval.id);
  }

  /** The pending approvals, oldest first (the one waiting longest is answered first). */
  pendingApprovals() {
    return [...this.approvals.values()].sort((a, b) =>
      a.requested_at < b.requested_at ? -1 : a.requested_at > b.requested_at ? 1 : 0,
    );
  }

  /** A task's attempts known here (live or from the snapshot), oldest first. */
  attemptsOf(taskId) {
    return [...this.workspaces.values()]
      .filter((w) => w.task_id === taskId)
      .sort((a, b) => (a.attempt ?? 0) - (b.attempt ?? 0));
  }

  /** A task's latest attempt, or undefined. */
  latestAttempt(taskId) {
    const attempts = this.attemptsOf(taskId);
    return attempts[attempts.length - 1];
  }

  foldAgentHeartbeat(p) {
    const agent = this.agents.get(p.agent_id);
    if (!agent) return;
    const patch = { last_heartbeat_at: p.at ?? agent.last_heartbeat_at };
    if (p.iteration !== null && p.iteration !== undefined) patch.current_iteration = p.iteration;
    put(this.agents, { ...agent, ...patch }, this.pending.agents);
  }

  foldIteration(msg) {
    const p = msg.payload;
    this.pending.iterations.push(msg);
    const session = this.sessions.get(p.session_id);
    if (!session) return;
    const iteration = Math.max(session.iteration ?? 0, p.iteration);
    put(this.sessions, { ...session, iteration }, this.pending.sessions);
  }

  /** Adds older events from REST to the recent stream (deduplicated by seq). */
  backfillEvents(messages) {
    const added = this.events.merge(messages.filter((m) => m.seq <= this.seq || !this.loaded));
    const latest = messages.reduce((max, m) => Math.max(max, Date.parse(m.timestamp) || 0), 0);
    if (latest && (!this.lastEventAt || latest > this.lastEventAt)) this.lastEventAt = latest;
    if (added) {
      this.pending.streamReloaded = true;
      this.schedule();
    }
  }

  /** Adds older telegram messages from REST. */
  backfillTelegram(messages) {
    if (this.telegram.merge(messages)) {
      this.pending.streamReloaded = true;
      this.schedule();
    }
  }

  /** Remembers test runs read from REST, unless a newer one arrived live. */
  backfillTestRuns(runs) {
    for (const run of runs) {
      if (run.task_id && !this.testRuns.has(run.task_id)) {
        this.testRuns.set(run.task_id, run);
        this.pending.testRuns.add(run.task_id);
      }
    }
    this.schedule();
  }

  /**
   * Flushes on the next frame, at most every FLUSH_EVERY_MS: a lone event shows at once,
   * a storm is drawn about five times a second. `urgent` skips the wait (a snapshot).
   */
  schedule({ urgent = false } = {}) {
    if (this.flushScheduled && !urgent) return;
    this.flushScheduled = true;
    const wait = urgent ? 0 : Math.max(0, this.lastFlush + FLUSH_EVERY_MS - performance.now());
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => requestAnimationFrame(() => this.flush()), wait);
  }

  /** Sends the accumulated changes to every listener, then starts a new batch. */
  flush() {
    if (!this.flushScheduled) return; // an urgent flush already ran this batch
    this.flushScheduled = false;
    this.lastFlush = performance.now();
    const changes = this.pending;
    this.pending = noChanges();
    this.prune();
    for (const fn of this.listeners) {
      try {
        fn(changes);
      } catch (error) {
        console.error('view update failed', error); // one broken view must not stop the others
      }
    }
  }

  /** Bounds memory: finished tasks and sessions beyond the newest TERMINAL_KEEP go. */
  prune() {
    pruneFinished(this.tasks, (t) => TERMINAL_TASK.has(t.status), 'updated_at');
    pruneFinished(this.sessions, (s) => s.status && s.status !== 'running', 'started_at');
  }

  /** Tasks whose status is one of `statuses`, newest first by `field`, at most `limit`. */
  tasksWithStatus(statuses, limit, field = 'updated_at') {
    return newest(this.tasks.values(), (t) => statuses.has(t.status), field, limit);
  }

  /** Session of a task (for its iteration), when known. */
  sessionOf(task) {
    return task.session_id ? this.sessions.get(task.session_id) : undefined;
  }
}

/**
 * The `limit` newest items (by an ISO time field) that pass `keep`, newest first.
 * A bounded insertion keeps this O(n) for 10,000 tasks, where a full sort is not.
 */
export function newest(items, keep, field, limit) {
  const top = [];
  for (const item of items) {
    if (!keep(item)) continue;
    if (top.length === limit && !(item[field] > top[limit - 1][field])) continue;
    let i = top.length === limit ? limit - 1 : top.length;
    while (i > 0 && item[field] > top[i - 1][field]) {
      top[i] = top[i - 1];
      i -= 1;
    }
    top[i] = item;
  }
  return top;
}

function byId(list) {
  return new Map((list ?? []).map((item) => [item.id, item]));
}

function put(map, entity, changed) {
  map.set(entity.id, entity);
  changed.add(entity.id);
}

/** A comparator on an ISO time field, newest first. */
export function byNewest(field) {
  return (a, b) => (a[field] < b[field] ? 1 : a[field] > b[field] ? -1 : 0);
}

function pruneFinished(map, finished, field) {
  if (map.size <= TERMINAL_KEEP * 1.5) return;
  const done = [...map.values()].filter(finished);
  if (done.length <= TERMINAL_KEEP) return;
  done.sort(byNewest(field));
  for (const item of done.slice(TERMINAL_KEEP)) map.delete(item.id);
}
