// A TaskCard: status, progress bar, iteration n of max, tokens and cost, the
// latest test result and an error badge that opens the ErrorDetailsModal.

import { h, setAttr, setText } from '../dom.js';
import { ago, money, percent, tokens } from '../format.js';
import { link } from '../router.js';

/** Builds an empty card; `onError(task)` opens the error details. */
export function createTaskCard(onError) {
  const parts = {
    status: h('span', { class: 'badge', testid: 'task-status' }),
    title: h('a', { class: 'task-title', testid: 'task-title' }),
    errorBadge: h(
      'button',
      { class: 'error-badge', type: 'button', testid: 'error-badge', hidden: true },
      'error',
    ),
    bar: h('span', { class: 'progress-fill' }),
    pct: h('span', { class: 'progress-text', testid: 'task-progress' }),
    iteration: h('span', { testid: 'task-iteration' }),
    attempts: h('span', { testid: 'task-attempts' }),
    tokens: h('span', { testid: 'task-tokens' }),
    cost: h('span', { testid: 'task-cost' }),
    test: h('span', { class: 'test-result', testid: 'task-test' }),
    diffstat: h('span', { class: 'diffstat', testid: 'task-diffstat', hidden: true }),
    agent: h('span', { class: 'muted', testid: 'task-agent' }),
    deps: h('span', { class: 'task-deps', testid: 'task-deps' }),
    plan: h('a', { class: 'task-plan', testid: 'task-plan', hidden: true }),
    updated: h('span', { class: 'muted' }),
  };
  const card = h(
    'article',
    { class: 'task-card', testid: 'task-card' },
    h('div', { class: 'task-head' }, parts.status, parts.title, parts.errorBadge),
    h('div', { class: 'progress' }, h('span', { class: 'progress-track' }, parts.bar), parts.pct),
    h(
      'div',
      { class: 'task-meta' },
      parts.iteration,
      parts.attempts,
      parts.tokens,
      parts.cost,
      parts.test,
      parts.diffstat,
      parts.agent,
      parts.deps,
      parts.plan,
      parts.updated,
    ),
  );
  card.parts = parts;
  parts.errorBadge.addEventListener('click', () => onError(card.task));
  return card;
}

/** Fills a card from a task, its session (for the iteration) and its latest test run. */
export function updateTaskCard(card, task, session, testRun, now = Date.now()) {
  const p = card.parts;
  card.task = task;
  setAttr(card, 'data-task-id', task.id);
  setAttr(card, 'data-status', task.status);
  setText(p.status, task.status);
  setAttr(p.status, 'data-status', task.status);
  setText(p.title, task.title || task.id);
  setAttr(p.title, 'href', link('tasks', task.id));
  setAttr(p.title, 'title', task.description || task.id);
  const progress = task.status === 'completed' ? 100 : (task.progress_percent ?? 0);
  p.bar.style.width = `${Math.max(0, Math.min(100, progress))}%`;
  setAttr(p.bar, 'data-status', task.status);
  setText(p.pct, percent(progress));
  setText(p.iteration, iterationText(session));
  setText(p.attempts, `attempt ${task.attempts ?? 0}/${task.max_attempts ?? 1}`);
  setText(p.tokens, tokens(task.token_usage));
  setText(p.cost, money(task.token_usage?.cost_usd ?? 0));
  setTestResult(p.test, testRun);
  setText(p.agent, task.agent_id ?? task.agent_name ?? 'unassigned');
  setText(p.deps, dependencyText(task));
  p.plan.hidden = !task.plan_id;
  setAttr(p.plan, 'href', task.plan_id ? link('plans', task.plan_id) : null);
  setText(p.plan, task.plan_id ? `plan ${task.plan_id}` : '');
  setText(p.updated, ago(task.updated_at, now));
  p.errorBadge.hidden = !task.error_details;
  if (task.error_details) setText(p.errorBadge, task.error_details.kind || 'error');
}

/** "waits for a, b" while blocked; "after a, b" for a task with parents; else nothing. */
export function dependencyText(task) {
  if (task.status === 'blocked' && task.blocked_by?.length)
    return `waits for ${task.blocked_by.join(', ')}`;
  const parents = (task.depends_on ?? []).map((d) => (typeof d === 'string' ? d : d.id));
  return parents.length ? `after ${parents.join(', ')}` : '';
}

/** Shows the +/- of a task's latest attempt (its workspace), if it has one. */
export function updateTaskDiff(card, workspace) {
  const el = card.parts.diffstat;
  el.hidden = !workspace;
  if (!workspace) return;
  setText(el, `+${workspace.insertions ?? 0} −${workspace.deletions ?? 0}`);
  setAttr(el, 'title', `attempt ${workspace.attempt}: ${workspace.branch} (${workspace.status})`);
}

/** "iteration 3 of 10" from the task's session, or "—" before one started. */
export function iterationText(session) {
  if (!session || session.iteration === null || session.iteration === undefined)
    return 'iteration —';
  return `iteration ${session.iteration} of ${session.max_iterations ?? '?'}`;
}

function setTestResult(el, run) {
  if (!run) {
    setText(el, 'tests —');
    setAttr(el, 'data-result', null);
    return;
  }
  const result =
    run.status === 'running'
      ? 'running'
      : run.failed || run.status === 'failed' || run.status === 'error'
        ? 'failed'
        : 'passed';
  setAttr(el, 'data-result', result);
  if (run.status === 'running') setText(el, 'tests running');
  else
    setText(
      el,
      `tests ${run.passed ?? 0} passed · ${run.failed ?? 0} failed${run.skipped ? ` · ${run.skipped} skipped` : ''}`,
    );
}
