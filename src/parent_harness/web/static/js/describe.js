// What an event says, in one line, and which filters it matches.
// Rooms follow the hub's rule (events/rooms.py): the class room of the type,
// then the room of every entity the payload names.

import { money, percent } from './format.js';

const CLASS_ROOM = {
  agent: 'agents',
  task: 'tasks',
  session: 'sessions',
  test: 'tests',
  budget: 'budget',
  telegram: 'telegram',
  event: 'events',
  workspace: 'workspaces',
};

/** The rooms an event message went to. */
export function roomsOf(msg) {
  const rooms = [CLASS_ROOM[msg.type.split(':', 1)[0]] ?? 'events'];
  for (const [kind, id] of namedEntities(msg)) {
    if (id) rooms.push(`${kind}:${id}`);
  }
  return [...new Set(rooms)];
}

function namedEntities({ type, payload: p }) {
  if (p.agent)
    return [
      ['agent', p.agent.id],
      ['task', p.agent.current_task_id],
      ['session', p.agent.current_session_id],
    ];
  if (p.task)
    return [
      ['task', p.task.id],
      ['agent', p.task.agent_id],
      ['session', p.task.session_id],
    ];
  if (p.session)
    return [
      ['session', p.session.id],
      ['agent', p.session.agent_id],
      ['task', p.session.task_id],
    ];
  if (p.workspace)
    return [
      ['workspace', p.workspace.id],
      ['task', p.workspace.task_id],
      ['session', p.workspace.session_id],
    ];
  if (p.test_run)
    return [
      ['task', p.test_run.task_id],
      ['session', p.test_run.session_id],
    ];
  if (type === 'agent:heartbeat')
    return [
      ['agent', p.agent_id],
      ['session', p.session_id],
    ];
  if (type.startsWith('session:'))
    return [
      ['session', p.session_id],
      ['agent', p.agent_id],
      ['task', p.task_id],
    ];
  return [];
}

/**
 * The level the hub stores and filters on (`/api/events?level=`): only generic
 * `event`s carry one; every other type has none.
 */
/** An event's level, as the hub stores it for `GET /api/events?level=` (events/levels.py):
 *  a generic event's own level; failures are errors, trouble a warning, heartbeats debug. */
export function levelOf(msg) {
  const p = msg.payload;
  if (msg.type === 'event') return p.event?.level ?? 'info';
  if (msg.type === 'task:failed') return 'error';
  if (msg.type === 'agent:status') {
    const health = p.agent?.health_status;
    if (health === 'crashed' || p.agent?.status === 'error') return 'error';
    if (health === 'stuck' || health === 'stale') return 'warning';
  }
  if (msg.type === 'session:ended' && p.session?.status && p.session.status !== 'completed')
    return 'warning';
  if (msg.type === 'test:completed' && p.test_run?.status && p.test_run.status !== 'passed')
    return 'warning';
  if (msg.type === 'agent:heartbeat' || msg.type === 'session:heartbeat') return 'debug';
  if (msg.type === 'workspace:updated' && p.workspace?.status === 'error') return 'error';
  if (msg.type === 'workspace:updated' && p.workspace?.status === 'conflict') return 'warning';
  return 'info';
}

const SUMMARY = {
  'agent:status': ({ agent: a }) =>
    `${a.name ?? a.id}: ${a.status ?? '?'} · ${a.health_status ?? '?'}${a.health_reason ? ` (${a.health_reason})` : ''}`,
  'agent:heartbeat': (p) =>
    `${p.agent_id} heartbeat${p.iteration != null ? ` · iteration ${p.iteration}` : ''}`,
  'session:iteration': (p) =>
    `${p.session_id} iteration ${p.iteration}${p.summary ? `: ${p.summary}` : ''}`,
  'session:heartbeat': (p) => `${p.session_id} · ${percent(p.progress_percent)}`,
  'budget:updated': ({ budget: b }) =>
    `${b.period}: ${money(b.spent_usd)} of ${money(b.limit_usd)}${b.burn_rate_usd_per_hour != null ? ` · ${money(b.burn_rate_usd_per_hour)}/h` : ''}`,
  'telegram:message': ({ message: m }) =>
    `${m.direction === 'in' ? '←' : '→'} ${m.chat_id}: ${m.text}`,
  event: ({ event: e }) => `${e.source ? `[${e.source}] ` : ''}${e.message}`,
};

/** One line that says what happened. */
export function summarize(msg) {
  const p = msg.payload ?? {};
  const special = SUMMARY[msg.type];
  if (special) return special(p);
  if (p.task) {
    const t = p.task;
    const err =
      msg.type === 'task:failed' && t.error_details?.message ? `: ${t.error_details.message}` : '';
    return `${t.title ?? t.id} · ${t.status}${err}`;
  }
  if (p.session) {
    const s = p.session;
    return `${s.id} · ${s.status}${s.iteration != null ? ` · iteration ${s.iteration}/${s.max_iterations ?? '?'}` : ''}`;
  }
  if (p.workspace) {
    const w = p.workspace;
    return `attempt ${w.attempt ?? '?'} of ${w.task_id ?? '?'} · ${w.branch ?? w.id} · ${w.status} · +${w.insertions ?? 0} −${w.deletions ?? 0}`;
  }
  if (p.test_run) {
    const r = p.test_run;
    return `${r.command ?? r.id} · ${r.status}${r.passed != null ? ` · ${r.passed} passed, ${r.failed ?? 0} failed` : ''}`;
  }
  return msg.type;
}

/** A predicate for comma-separated type globs: "task:*,*:failed". Empty matches all. */
export function typeMatcher(globs) {
  const parts = (globs ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  if (parts.length === 0) return () => true;
  const regexes = parts.map(
    (glob) => new RegExp(`^${glob.split('*').map(escapeRegex).join('.*')}$`),
  );
  return (type) => regexes.some((re) => re.test(type));
}

function escapeRegex(text) {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** A predicate for the event bus filters {types, room, level, q}, as the hub's REST query applies them. */
export function eventFilter({ types = '', room = '', level = '', q = '' }) {
  const typeOk = typeMatcher(types);
  const needle = q.trim().toLowerCase();
  return (msg) => {
    if (!typeOk(msg.type)) return false;
    if (room && room !== '*' && !roomsOf(msg).includes(room)) return false;
    if (level && levelOf(msg) !== level) return false;
    if (needle && !JSON.stringify(msg).toLowerCase().includes(needle)) return false;
    return true;
  };
}
