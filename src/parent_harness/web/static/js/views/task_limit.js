// A task's spending and its cap (the task's own `limit_usd`, else the fleet's
// `budget.limit_usd_per_task`). When the task is stopped by its cap (a failure of kind
// budget_exceeded for the task) or has spent up to it, a token that may publish can raise
// the cap (an amount, then a confirmation: POST /api/tasks/{id}/limit); a task the cap
// stopped, whose cap is now above its spending, can be retried (POST /api/tasks/{id}/retry).
// A read-only token sees the figures only.

import { mayAct } from '../access.js';
import { postJSON } from '../api.js';
import { h, replaceChildren, setText } from '../dom.js';
import { money } from '../format.js';

/** The task's cap in USD and whose it is, or null when no cap applies. */
export function capOf(task, budget) {
  if (task.limit_usd) return { usd: task.limit_usd, whose: "this task's own" };
  const fleet = budget?.limit_usd_per_task;
  return fleet ? { usd: fleet, whose: 'the fleet’s per-task cap' } : null;
}

/** True when the task failed because its cap stopped it (or refused to start it). */
export function stoppedByCap(task) {
  const err = task.error_details;
  return (
    task.status === 'failed' &&
    err?.kind === 'budget_exceeded' &&
    /budget of task|task's budget/.test(err.message ?? '')
  );
}

/** True when the task has spent up to its cap (or, the cap unknown, was stopped by it). */
export function overCap(task, cap) {
  if (cap === null) return stoppedByCap(task);
  return (task.token_usage?.cost_usd ?? 0) >= cap.usd;
}

export class TaskLimitPanel {
  constructor() {
    this.task = null;
    this.cap = null;
    this.spent = h('span', { class: 'num', testid: 'task-spent' });
    this.capText = h('span', { testid: 'task-cap' });
    this.state = h('span', { class: 'badge', testid: 'task-cap-state', hidden: true });
    this.raise = h(
      'button',
      {
        class: 'button small',
        type: 'button',
        testid: 'task-raise-limit',
        hidden: true,
        onclick: () => this.openForm(),
      },
      'Raise limit',
    );
    this.retryButton = h(
      'button',
      {
        class: 'button small',
        type: 'button',
        testid: 'task-limit-retry',
        hidden: true,
        onclick: () => this.retry(),
      },
      'Retry task',
    );
    this.input = h('input', {
      type: 'number',
      min: '0.01',
      step: '0.01',
      inputmode: 'decimal',
      testid: 'task-limit-input',
      'aria-label': 'New cap in USD',
    });
    this.form = h(
      'form',
      { class: 'confirm-bar', testid: 'task-limit-form', hidden: true },
      h('label', {}, 'New cap, USD ', this.input),
      h('button', { class: 'button small', type: 'submit', testid: 'task-limit-next' }, 'Raise…'),
      h(
        'button',
        {
          class: 'button small',
          type: 'button',
          testid: 'task-limit-cancel',
          onclick: () => this.closeForm(),
        },
        'Cancel',
      ),
    );
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.ask();
    });
    this.confirmBar = h('div', {
      class: 'confirm-bar',
      testid: 'task-limit-confirm',
      hidden: true,
    });
    this.message = h('div', {
      class: 'attempt-message',
      testid: 'task-limit-message',
      hidden: true,
    });
    this.el = h(
      'section',
      { class: 'panel', testid: 'task-limit' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Spending')),
      h(
        'p',
        { class: 'task-limit-line' },
        this.spent,
        ' spent · ',
        this.capText,
        ' ',
        this.state,
        ' ',
        this.raise,
        this.retryButton,
      ),
      this.form,
      this.confirmBar,
      this.message,
    );
    this.pending = null; // the amount awaiting confirmation
  }

  /** Another task: forget the last one's form and messages. */
  reset() {
    this.closeForm();
    this.message.hidden = true;
  }

  set(task, budget) {
    this.task = task;
    this.budget = budget;
    this.cap = capOf(task, budget);
    const spent = task.token_usage?.cost_usd ?? 0;
    setText(this.spent, money(spent));
    setText(
      this.capText,
      this.cap ? `cap ${money(this.cap.usd)} (${this.cap.whose})` : 'no spending cap',
    );
    const over = overCap(task, this.cap);
    this.state.hidden = !over;
    this.state.dataset.status = over ? 'failed' : '';
    // Stopped (the default), or still running at it (on_task_limit = "pause").
    setText(this.state, over ? (stoppedByCap(task) ? 'stopped by its cap' : 'at its cap') : '');
    this.el.dataset.over = String(over);
    this.raise.hidden = !(over && mayAct());
    // Stopped by a cap since raised above the spending: it may run again.
    this.retryButton.hidden = !(stoppedByCap(task) && !over && mayAct());
    if (this.raise.hidden && !this.form.hidden) this.closeForm();
  }

  openForm() {
    const spent = this.task?.token_usage?.cost_usd ?? 0;
    const current = this.cap?.usd ?? 0;
    this.input.value = suggestion(Math.max(spent, current)).toFixed(2);
    this.form.hidden = false;
    this.message.hidden = true;
    this.input.focus();
  }

  closeForm() {
    this.form.hidden = true;
    this.confirmBar.hidden = true;
    this.pending = null;
  }

  /** Checks the amount, then asks for confirmation (the amount stays in the field). */
  ask() {
    const usd = Number(this.input.value);
    const spent = this.task?.token_usage?.cost_usd ?? 0;
    if (!this.input.value.trim() || !Number.isFinite(usd) || usd <= 0) {
      return this.say('error', 'Give the new cap as an amount in USD, such as 2.50.');
    }
    if (usd <= spent) {
      return this.say(
        'error',
        `The new cap must be more than the ${money(spent)} this task has spent, or it stops again.`,
      );
    }
    this.pending = usd;
    this.message.hidden = true;
    const from = this.cap ? ` from ${money(this.cap.usd)}` : '';
    replaceChildren(
      this.confirmBar,
      h(
        'span',
        { testid: 'task-limit-confirm-text' },
        `Raise the cap of task ${this.task.id}${from} to ${money(usd)}?`,
      ),
      h(
        'button',
        {
          class: 'button small danger',
          type: 'button',
          testid: 'task-limit-confirm-yes',
          onclick: () => this.confirm(),
        },
        `Raise to ${money(usd)}`,
      ),
      h(
        'button',
        {
          class: 'button small',
          type: 'button',
          testid: 'task-limit-confirm-no',
          onclick: () => {
            this.pending = null;
            this.confirmBar.hidden = true;
          },
        },
        'Cancel',
      ),
    );
    this.confirmBar.hidden = false;
  }

  async confirm() {
    const usd = this.pending;
    const task = this.task;
    this.pending = null;
    this.confirmBar.hidden = true;
    if (usd === null || !task) return;
    const path = `/api/tasks/${encodeURIComponent(task.id)}/limit`;
    const answer = await postJSON(path, { limit_usd: usd });
    if (!answer.ok) return this.say('error', problemText(answer));
    this.form.hidden = true;
    this.set({ ...task, ...(answer.body.task ?? {}) }, this.budget);
    this.say('ok', `Cap of task ${task.id} raised to ${money(usd)}.`);
  }

  async retry() {
    const id = this.task?.id;
    if (!id) return;
    this.retryButton.hidden = true;
    const answer = await postJSON(`/api/tasks/${encodeURIComponent(id)}/retry`);
    if (!answer.ok) return this.say('error', problemText(answer));
    this.say('ok', `Task ${id} is queued again.`);
  }

  say(kind, text) {
    this.message.dataset.kind = kind;
    replaceChildren(this.message, h('span', { testid: 'task-limit-message-text' }, text));
    this.message.hidden = false;
  }
}

/** A round amount above `usd`: twice it, at least a dollar more. */
function suggestion(usd) {
  return Math.max(usd * 2, usd + 1);
}

/** The hub's own words for a refusal (problem+json `detail`). */
function problemText(answer) {
  return answer.body?.detail ?? `HTTP ${answer.status}`;
}
