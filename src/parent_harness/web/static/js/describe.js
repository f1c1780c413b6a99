// What an event says, in one line, and which filters it matches. Its rooms and
// level come from the hub's catalogue (catalogue.js).

import { levelOf, roomsOf } from './catalogue.js';
import { money, percent } from './format.js';

export { levelOf, roomsOf };

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
  if (p.approval) return approvalLine(p.approval);
  if (p.test_run) {
    const r = p.test_run;
    return `${r.command ?? r.id} · ${r.status}${r.passed != null ? ` · ${r.passed} passed, ${r.failed ?? 0} failed` : ''}`;
  }
  return msg.type;
}

/** An approval in one line: who asks what, or how it was decided. */
function approvalLine(a) {
  const what = [a.tool, a.summary].filter(Boolean).join(': ') || a.id;
  const who = a.agent_id ?? '?';
  if (a.status === 'pending') return `${who} asks (${a.kind ?? 'permission'}) · ${what}`;
  if (a.status === 'answered') {
    const by = a.by ? ` by ${a.by}` : '';
    const via = a.via && a.via !== a.by ? ` via ${a.via}` : '';
    return `${who} · ${what} · ${a.decision}${by}${via}`;
  }
  return `${who} · ${what} · ${a.status}${a.answer ? `: ${a.answer}` : ''}`;
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
