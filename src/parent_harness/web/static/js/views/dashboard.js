// The one-glance page: the strip of counts, agents and their health, tasks in
// flight, the last 50 events and the charts of the last hour.

import { getJSON } from '../api.js';
import { h, KeyedList, setAttr, setText, table } from '../dom.js';
import { ago, count, money, percent, shortId } from '../format.js';
import { link } from '../router.js';
import { VirtualList } from '../virtual_list.js';
import { drawRate, drawSpend, Timeline } from './chart.js';
import { createEventRow, updateEventRow } from './event_row.js';
import { budgetLevel } from './header.js';

const IN_FLIGHT = new Set(['assigned', 'running', 'testing']);
const WAITING = new Set(['pending', 'queued', 'blocked']);
const STREAM_ROWS = 50;
const HEARTBEATS = new Set(['agent:heartbeat', 'session:heartbeat']);
const ACTIVE_ROWS = 12;
const FAILURE_ROWS = 5;
const FAILED = new Set(['failed']);

export class DashboardView {
  constructor({ store, modal }) {
    this.store = store;
    this.modal = modal;
    this.timeline = new Timeline();
    this.chartsDirty = true;
    this.el = h('section', { class: 'page page-dashboard', testid: 'page-dashboard' });
    this.build();
    store.subscribe((changes) => this.countInto(changes));
  }

  build() {
    this.tiles = {};
    const strip = h(
      'div',
      { class: 'glance', testid: 'glance' },
      ['working', 'waiting', 'stuck', 'crashed', 'running', 'failed', 'budget'].map((name) =>
        this.tile(name),
      ),
    );
    this.agentRows = h('tbody', { testid: 'agent-rows' });
    this.agents = new KeyedList(this.agentRows, {
      create: createAgentRow,
      update: (row, a) => updateAgentRow(row, a, this.store),
    });
    this.machineRows = h('tbody', { testid: 'machine-rows' });
    this.machines = new KeyedList(this.machineRows, {
      create: createMachineRow,
      update: updateMachineRow,
    });
    this.machinesPanel = panel('Machines', null, 'panel-machines', machineTable(this.machineRows));
    this.machinesPanel.hidden = true; // shown once a worker has registered
    this.activeList = h('ul', { class: 'rows', testid: 'active-tasks' });
    this.active = new KeyedList(this.activeList, {
      create: createActiveRow,
      update: (row, t) => updateActiveRow(row, t, this.store),
    });
    this.activeNote = h('span', { class: 'panel-note', testid: 'active-note' });
    this.failureList = h('ul', { class: 'rows', testid: 'recent-failures' });
    this.failures = new KeyedList(this.failureList, {
      create: () => createFailureRow((t) => this.modal.open(t)),
      update: updateFailureRow,
    });
    this.streamList = h('div', { class: 'event-list', testid: 'event-stream' });
    this.showBeats = h('input', {
      type: 'checkbox',
      testid: 'stream-heartbeats',
      onchange: () => this.renderStream(),
    });
    this.stream = new VirtualList(this.streamList, {
      create: createEventRow,
      update: updateEventRow,
      keyOf: (m) => m.seq,
      limit: STREAM_ROWS,
    });
    this.rateCanvas = h('canvas', { class: 'chart', testid: 'chart-events', height: 70 });
    this.spendCanvas = h('canvas', { class: 'chart', testid: 'chart-spend', height: 70 });
    this.rateNote = h('span', { class: 'panel-note', testid: 'chart-events-value' });
    this.spendNote = h('span', { class: 'panel-note', testid: 'chart-spend-value' });
    this.el.append(
      strip,
      this.machinesPanel,
      h(
        'div',
        { class: 'grid-dashboard' },
        panel('Agents', null, 'panel-agents', agentTable(this.agentRows)),
        panel(
          'Last hour',
          null,
          'panel-charts',
          h(
            'div',
            { class: 'chart-block' },
            h('div', { class: 'chart-head' }, h('span', {}, 'events / s'), this.rateNote),
            this.rateCanvas,
            axis(),
          ),
          h(
            'div',
            { class: 'chart-block' },
            h('div', { class: 'chart-head' }, h('span', {}, 'spend'), this.spendNote),
            this.spendCanvas,
            axis(),
          ),
        ),
        h(
          'div',
          { class: 'panel-work' },
          panel('Active tasks', this.activeNote, 'panel-active', this.activeList),
          panel(
            'Recent failures',
            h(
              'a',
              { class: 'panel-note', href: link('tasks', null, { status: 'failed' }) },
              'all failed →',
            ),
            'panel-failures',
            this.failureList,
          ),
        ),
        panel(
          'Latest events',
          h(
            'span',
            { class: 'panel-note' },
            h('label', { class: 'toggle' }, this.showBeats, 'heartbeats'),
            ' · ',
            h('a', { href: link('events') }, 'event bus →'),
          ),
          'panel-stream',
          this.streamList,
        ),
      ),
    );
  }

  tile(name) {
    const value = h('span', { class: 'value', testid: `glance-${name}-value` }, '—');
    const labels = {
      working: 'agents working',
      waiting: 'waiting for you',
      stuck: 'stuck',
      crashed: 'crashed',
      running: 'tasks running',
      failed: 'tasks failed',
      budget: 'budget',
    };
    const hrefs = {
      waiting: link('inbox'),
      running: link('tasks', null, { status: 'assigned,running,testing' }),
      failed: link('tasks', null, { status: 'failed' }),
    };
    const tile = h(
      hrefs[name] ? 'a' : 'div',
      { class: 'tile', testid: `glance-${name}`, href: hrefs[name] },
      value,
      h('span', { class: 'label' }, labels[name]),
    );
    this.tiles[name] = { tile, value };
    return tile;
  }

  show() {
    if (!this.historyLoaded) this.loadHistory();
    this.renderAll();
  }

  async loadHistory() {
    this.historyLoaded = true;
    try {
      this.timeline.load(await getJSON('/api/stats/history', { minutes: 60 }));
      this.chartsDirty = true;
      this.drawCharts();
    } catch (error) {
      this.historyLoaded = false; // try again on the next show / reconnect
      console.warn('chart history unavailable:', error.message);
    }
  }

  /** Keeps the charts' counts current even while another page is shown. */
  countInto(changes) {
    if (changes.reset) this.historyLoaded = false;
    for (const msg of changes.events)
      this.timeline.countEvent(Date.parse(msg.timestamp) || Date.now());
    if (changes.budget && this.store.budget)
      this.timeline.setSpent(Date.now(), this.store.budget.spent_usd ?? 0);
    if (changes.events.length || changes.budget) this.chartsDirty = true;
  }

  update(changes) {
    if (changes.reset) {
      this.show();
      return;
    }
    if (changes.agents.size) this.renderAgents(changes.agents);
    if (changes.workers.size) this.renderMachines(changes.workers);
    if (changes.tasks.size || changes.sessions.size) this.renderActive();
    if (changes.tasks.size) this.renderFailures();
    if (changes.streamReloaded) this.renderStream();
    else if (changes.events.length) this.stream.prepend(this.streamed(changes.events));
    if (changes.agents.size || changes.tasks.size || changes.budget || changes.approvals.size)
      this.renderGlance();
  }

  renderAll() {
    this.renderGlance();
    this.renderAgents(null);
    this.renderMachines(null);
    this.renderActive();
    this.renderFailures();
    this.renderStream();
    this.chartsDirty = true;
    this.drawCharts();
  }

  /** Called every second: ages and the charts (at most one redraw a second). */
  tick(now) {
    for (const row of this.agents.rows.values())
      setText(row.parts.beat, ago(row.agent.last_heartbeat_at, now));
    for (const row of this.failures.rows.values())
      setText(row.parts.at, ago(row.task.updated_at, now));
    this.drawCharts();
  }

  renderGlance() {
    const s = this.store;
    let working = 0;
    let stuck = 0;
    let crashed = 0;
    for (const a of s.agents.values()) {
      if (a.status === 'working') working += 1;
      if (a.health_status === 'stuck') stuck += 1;
      if (a.health_status === 'crashed') crashed += 1;
    }
    // Counts of every task in the store (the snapshot's, kept exact by live events),
    // not only of the tasks this page holds.
    let running = 0;
    for (const status of IN_FLIGHT) running += s.taskCounts[status] ?? 0;
    const failed = s.taskCounts.failed ?? 0;
    const b = s.budget;
    const ratio = b?.limit_usd ? (b.spent_usd ?? 0) / b.limit_usd : null;
    this.setTile('working', count(working), 'ok');
    this.setTile('waiting', count(s.approvals.size), s.approvals.size ? 'warning' : 'ok');
    this.setTile('stuck', count(stuck), stuck ? 'warning' : 'ok');
    this.setTile('crashed', count(crashed), crashed ? 'critical' : 'ok');
    this.setTile('running', count(running), 'ok');
    this.setTile('failed', count(failed), failed ? 'critical' : 'ok');
    this.setTile(
      'budget',
      ratio === null ? (b ? money(b.spent_usd ?? 0) : '—') : percent(ratio * 100),
      budgetLevel(ratio),
    );
  }

  setTile(name, text, level) {
    setText(this.tiles[name].value, text);
    setAttr(this.tiles[name].tile, 'data-level', level);
  }

  renderAgents(changed) {
    const agents = [...this.store.agents.values()].sort(agentOrder);
    this.agentRows.querySelector(':scope > .empty')?.remove();
    this.agents.sync(agents, (a) => a.id, changed);
    if (!agents.length) this.agentRows.append(emptyRow(6, 'No agents have reported yet.'));
  }

  /** Workers on other machines (issue 19): hidden while there are none. */
  renderMachines(changed) {
    const workers = [...this.store.workers.values()].sort((a, b) =>
      String(a.name ?? a.id).localeCompare(String(b.name ?? b.id)),
    );
    this.machinesPanel.hidden = !workers.length;
    this.machines.sync(workers, (w) => w.id, changed);
  }

  renderActive() {
    const s = this.store;
    const inFlight = s.tasksWithStatus(IN_FLIGHT, ACTIVE_ROWS);
    let waiting = 0;
    for (const t of s.tasks.values()) if (WAITING.has(t.status)) waiting += 1;
    const shown = inFlight.length
      ? inFlight
      : s.tasksWithStatus(WAITING, ACTIVE_ROWS, 'created_at');
    this.activeList.querySelector(':scope > .empty')?.remove();
    this.active.sync(shown, (t) => t.id); // at most ACTIVE_ROWS rows: refresh them all
    setText(this.activeNote, `${count(inFlight.length)} in flight · ${count(waiting)} waiting`);
    if (!shown.length) this.activeList.append(h('li', { class: 'empty' }, 'No active tasks.'));
  }

  /** The stream's events: heartbeats (the bulk of a busy fleet's traffic) only when asked. */
  streamed(events) {
    return this.showBeats.checked ? events : events.filter((m) => !HEARTBEATS.has(m.type));
  }

  renderFailures() {
    const failed = this.store.tasksWithStatus(FAILED, FAILURE_ROWS);
    this.failureList.querySelector(':scope > .empty')?.remove();
    this.failures.sync(failed, (t) => t.id);
    if (!failed.length) this.failureList.append(h('li', { class: 'empty' }, 'No failed tasks.'));
  }

  renderStream() {
    this.stream.setItems(this.streamed(this.store.events.items).slice(-STREAM_ROWS).reverse());
  }

  drawCharts(now = Date.now()) {
    if (!this.chartsDirty || !this.el.isConnected || this.el.hidden) return;
    this.chartsDirty = false;
    this.timeline.trim(now);
    const series = this.timeline.series(now);
    const peak = drawRate(this.rateCanvas, series);
    drawSpend(this.spendCanvas, series);
    setText(this.rateNote, rateNote(series, peak));
    setText(this.spendNote, spendNote(series));
  }
}

/** "2.4/s last min · peak 31/s": the last minute's average and the hour's highest bucket. */
function rateNote(series, peak) {
  const lastMinute = series.slice(-Math.max(1, Math.round(60 / bucketSeconds(series))));
  const avg = lastMinute.reduce((sum, p) => sum + p.rate, 0) / lastMinute.length;
  return `${avg.toFixed(1)}/s last min · peak ${peak >= 10 ? Math.round(peak) : peak.toFixed(1)}/s`;
}

function bucketSeconds(series) {
  return series.length > 1 ? (series[1].t - series[0].t) / 1000 : 60;
}

/** "$41.50 spent · +$0.80 this hour". */
function spendNote(series) {
  const known = series.filter((p) => p.spent !== null);
  if (!known.length) return 'no budget yet';
  const last = known[known.length - 1].spent;
  return `${money(last)} spent · +${money(Math.max(0, last - known[0].spent))} this hour`;
}

function axis() {
  return h(
    'div',
    { class: 'chart-axis', 'aria-hidden': 'true' },
    h('span', {}, '60 min ago'),
    h('span', {}, '30 min'),
    h('span', {}, 'now'),
  );
}

function panel(title, note, testid, ...body) {
  return h(
    'section',
    { class: `panel ${testid}`, testid },
    h('header', { class: 'panel-head' }, h('h2', {}, title), note),
    ...body,
  );
}

function agentTable(tbody) {
  return table(['agent', 'status', 'health', 'instances', 'task · iteration', 'heartbeat'], tbody);
}

function machineTable(tbody) {
  return table(
    ['machine', 'status', 'labels', 'agents', 'running', 'version', 'last contact'],
    tbody,
  );
}

function createMachineRow() {
  const row = h('tr', { testid: 'machine-row' });
  row.parts = {
    name: h('td', { class: 'strong', testid: 'machine-name' }),
    status: h('span', { class: 'badge', testid: 'machine-status' }),
    labels: h('td', { class: 'mono', testid: 'machine-labels' }),
    agents: h('td', { testid: 'machine-agents' }),
    running: h('td', { class: 'num', testid: 'machine-running' }),
    version: h('td', { class: 'muted', testid: 'machine-version' }),
    seen: h('td', { class: 'muted nowrap', testid: 'machine-seen' }),
  };
  const p = row.parts;
  row.append(p.name, h('td', {}, p.status), p.labels, p.agents, p.running, p.version, p.seen);
  return row;
}

function updateMachineRow(row, worker) {
  const p = row.parts;
  setAttr(row, 'data-worker-id', worker.id);
  setText(p.name, worker.name ?? worker.id);
  setText(p.status, worker.status ?? '—');
  setAttr(p.status, 'data-status', worker.status);
  setText(p.labels, (worker.labels ?? []).join(', ') || '—');
  setText(p.agents, (worker.agents ?? []).join(', ') || '—');
  setText(p.running, `${worker.running ?? 0} / ${worker.capacity ?? '?'}`);
  setText(p.version, worker.version ?? '—');
  setText(p.seen, ago(worker.last_seen_at));
}

function emptyRow(span, text) {
  return h('tr', { class: 'empty' }, h('td', { colspan: span }, text));
}

const HEALTH_RANK = { crashed: 0, stuck: 1, stale: 2, healthy: 3 };

/** Troubled agents first, then by name. */
function agentOrder(a, b) {
  const rank = (HEALTH_RANK[a.health_status] ?? 4) - (HEALTH_RANK[b.health_status] ?? 4);
  return rank || String(a.name ?? a.id).localeCompare(String(b.name ?? b.id));
}

function createAgentRow() {
  const row = h('tr', { testid: 'agent-row' });
  row.parts = {
    name: h('td', { class: 'strong', testid: 'agent-name' }),
    status: h('span', { class: 'badge', testid: 'agent-status' }),
    health: h('span', { class: 'badge', testid: 'agent-health' }),
    reason: h('span', { class: 'reason', testid: 'agent-health-reason' }),
    instances: h('td', { class: 'num', testid: 'agent-instances' }),
    task: h('a', { class: 'task-link', testid: 'agent-task' }),
    iteration: h('span', { class: 'muted', testid: 'agent-iteration' }),
    output: h('a', { class: 'agent-output', testid: 'agent-output' }, 'output'),
    tool: h('div', { class: 'agent-tool mono', testid: 'agent-tool' }),
    beat: h('td', { class: 'muted nowrap', testid: 'agent-heartbeat' }),
  };
  const p = row.parts;
  row.append(
    p.name,
    h('td', {}, p.status),
    h('td', {}, p.health, p.reason),
    p.instances,
    h('td', {}, p.task, p.iteration, p.output, p.tool),
    p.beat,
  );
  return row;
}

function updateAgentRow(row, agent, store) {
  const p = row.parts;
  row.agent = agent;
  setAttr(row, 'data-agent-id', agent.id);
  setAttr(row, 'data-health', agent.health_status);
  setText(p.name, agent.name ?? agent.id);
  setAttr(p.name, 'title', agent.id);
  setText(p.status, agent.status ?? '—');
  setAttr(p.status, 'data-status', agent.status);
  setText(p.health, agent.health_status ?? '—');
  setAttr(p.health, 'data-health', agent.health_status);
  setText(p.reason, agent.health_reason ?? '');
  setText(p.instances, `${agent.running_instances ?? 0} / ${agent.max_instances ?? '?'}`);
  const task = agent.current_task_id ? store.tasks.get(agent.current_task_id) : null;
  setText(p.task, agent.current_task_id ? (task?.title ?? shortId(agent.current_task_id)) : '—');
  setAttr(p.task, 'href', agent.current_task_id ? link('tasks', agent.current_task_id) : null);
  const working = agent.current_task_id && agent.current_iteration != null;
  setText(p.iteration, working ? ` · iteration ${agent.current_iteration}` : '');
  const session = agent.current_session_id;
  p.output.hidden = !session;
  setAttr(p.output, 'href', session ? link('sessions', session) : null);
  setAttr(p.output, 'title', session ? `the output of session ${session}` : null);
  const tool = store.tools.get(agent.id);
  const current = tool && session && tool.session_id === session ? tool : null;
  setText(p.tool, current ? `${current.tool ?? ''} ${current.target ?? ''}`.trim() : '');
  setAttr(p.tool, 'data-status', current?.status ?? null);
  p.tool.hidden = !current;
  setText(p.beat, ago(agent.last_heartbeat_at));
}

function createActiveRow() {
  const row = h('li', { class: 'active-row', testid: 'active-task' });
  row.parts = {
    status: h('span', { class: 'badge' }),
    title: h('a', { class: 'task-title' }),
    bar: h('span', { class: 'progress-fill' }),
    meta: h('span', { class: 'muted nowrap' }),
  };
  const p = row.parts;
  row.append(p.status, p.title, h('span', { class: 'progress-track small' }, p.bar), p.meta);
  return row;
}

function updateActiveRow(row, task, store) {
  const p = row.parts;
  setAttr(row, 'data-task-id', task.id);
  setText(p.status, task.status);
  setAttr(p.status, 'data-status', task.status);
  setText(p.title, task.title ?? task.id);
  setAttr(p.title, 'href', link('tasks', task.id));
  p.bar.style.width = `${task.progress_percent ?? 0}%`;
  const session = store.sessionOf(task);
  const iteration =
    session?.iteration != null ? `it ${session.iteration}/${session.max_iterations ?? '?'} · ` : '';
  setText(
    p.meta,
    `${iteration}${percent(task.progress_percent)} · ${money(task.token_usage?.cost_usd ?? 0)}`,
  );
}

function createFailureRow(onError) {
  const row = h('li', { class: 'failure-row', testid: 'recent-failure' });
  row.parts = {
    title: h('a', { class: 'task-title' }),
    badge: h('button', { class: 'error-badge', type: 'button', testid: 'error-badge' }),
    message: h('span', { class: 'failure-message muted' }),
    at: h('span', { class: 'muted nowrap' }),
  };
  row.parts.badge.addEventListener('click', () => onError(row.task));
  row.append(row.parts.badge, row.parts.title, row.parts.at, row.parts.message);
  return row;
}

function updateFailureRow(row, task) {
  const p = row.parts;
  const err = task.error_details;
  row.task = task;
  setAttr(row, 'data-task-id', task.id);
  setText(p.title, task.title ?? task.id);
  setAttr(p.title, 'href', link('tasks', task.id));
  setText(p.badge, err?.kind || 'error');
  p.badge.hidden = !err;
  setText(p.message, err?.message ?? '');
  setText(p.at, ago(task.updated_at));
}
