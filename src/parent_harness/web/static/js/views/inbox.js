// The Inbox: approvals waiting for a human, oldest first, with what the agent wants to do
// (the command, the path, a diff excerpt, the question) and a button per answer. An
// approval decided anywhere (here, Telegram, the API, a rule, expiry) leaves the list when
// its event arrives. The answer goes through POST /api/approvals/{id}/answer; the first
// answer in the hub's order wins and a later one is told which (409 already_decided).

import { mayAct } from '../access.js';
import { postJSON } from '../api.js';
import { h, KeyedList, replaceChildren, setAttr, setText } from '../dom.js';
import { ago, count, relative } from '../format.js';
import { link } from '../router.js';

/** Keys of the page, shown on it (the list the help line is made from). */
export const INBOX_KEYS = [
  ['j / k', 'next / previous request'],
  ['a', 'allow'],
  ['d', 'deny'],
  ['s', 'allow for the rest of the session'],
  ['1–9', 'the nth answer'],
];

/** The option that allows for the rest of the session, when the request offers one. */
export function sessionOption(options) {
  return (options ?? []).find((o) => /session|always/i.test(o) && /allow/i.test(o));
}

/** A button's label for an option: the usual ones in words, a question's choice as it is. */
export function optionLabel(option) {
  if (option === 'allow') return 'Allow';
  if (option === 'deny') return 'Deny';
  if (option === sessionOption([option])) return 'Allow for this session';
  return option;
}

export class InboxView {
  constructor({ store }) {
    this.store = store;
    this.selected = null; // the id of the approval the keys act on
    this.sending = new Set(); // ids with an answer on its way
    this.el = h('section', { class: 'page page-inbox', testid: 'page-inbox' });
    this.summary = h('span', { class: 'muted', testid: 'inbox-summary' });
    this.readOnly = h(
      'p',
      { class: 'inbox-note', testid: 'inbox-read-only', hidden: true },
      'This token may read but not answer: answering needs a publish token.',
    );
    this.message = h('p', { class: 'inbox-message', testid: 'inbox-message', hidden: true });
    this.listEl = h('ol', { class: 'approvals', testid: 'inbox-list' });
    this.rows = new KeyedList(this.listEl, {
      create: (a) => this.createRow(a),
      update: (li, a) => this.updateRow(li, a),
    });
    this.empty = h('p', { class: 'empty', testid: 'inbox-empty' }, 'Nobody is waiting.');
    const keys = INBOX_KEYS.map(([key, what]) => h('span', {}, h('kbd', {}, key), ` ${what}`));
    this.el.append(
      h('div', { class: 'toolbar' }, h('h1', {}, 'Inbox'), this.summary),
      h('p', { class: 'inbox-keys muted', testid: 'inbox-keys' }, 'Keys: ', keys),
      this.readOnly,
      this.message,
      h('section', { class: 'panel' }, this.listEl, this.empty),
    );
    document.addEventListener('keydown', (event) => this.onKey(event));
  }

  show() {
    this.render();
  }

  update(changes) {
    if (changes.reset || changes.approvals.size)
      this.render(changes.reset ? null : changes.approvals);
  }

  tick(now) {
    for (const li of this.rows.rows.values()) this.renderAge(li, now);
  }

  render(changed = null) {
    const items = this.store.pendingApprovals();
    const before = this.order ?? [];
    this.order = items.map((a) => a.id);
    this.rows.sync(items, (a) => a.id, changed);
    this.readOnly.hidden = mayAct();
    this.empty.hidden = items.length > 0;
    setText(this.summary, `${count(items.length)} waiting`);
    this.keepSelection(before);
  }

  /** The selection stays on its approval; when that one left, it moves to the next in line. */
  keepSelection(before) {
    if (this.selected && this.order.includes(this.selected)) return this.select(this.selected);
    const was = before.indexOf(this.selected);
    const next = this.order[Math.min(Math.max(was, 0), this.order.length - 1)];
    this.select(next ?? null);
  }

  select(id) {
    this.selected = id;
    for (const [key, li] of this.rows.rows) setAttr(li, 'aria-selected', String(key === id));
  }

  move(step) {
    if (!this.order.length) return;
    const at = this.order.indexOf(this.selected);
    const next = Math.min(Math.max(at + step, 0), this.order.length - 1);
    this.select(this.order[next]);
    this.rows.rows.get(this.order[next])?.scrollIntoView({ block: 'nearest' });
  }

  onKey(event) {
    if (this.el.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.('input, textarea, select, [contenteditable]')) return;
    const approval = this.store.approvals.get(this.selected);
    const options = approval?.options ?? [];
    let decision = null;
    if (event.key === 'j') this.move(1);
    else if (event.key === 'k') this.move(-1);
    else if (event.key === 'a') decision = options.includes('allow') ? 'allow' : null;
    else if (event.key === 'd') decision = options.includes('deny') ? 'deny' : null;
    else if (event.key === 's') decision = sessionOption(options) ?? null;
    else if (/^[1-9]$/.test(event.key)) decision = options[Number(event.key) - 1] ?? null;
    else return;
    event.preventDefault();
    if (decision && approval && mayAct()) this.answer(approval, decision);
  }

  async answer(approval, decision, text = null) {
    if (this.sending.has(approval.id)) return;
    this.sending.add(approval.id);
    this.markSending(approval.id, true);
    const path = `/api/approvals/${encodeURIComponent(approval.id)}/answer`;
    try {
      const body = { decision, via: 'dashboard' };
      if (text !== null) body.answer = text;
      const reply = await postJSON(path, body);
      if (reply.ok) this.say('ok', `${describe(approval)}: ${decision}.`);
      else if (reply.status === 409) this.say('error', lostTo(reply.body?.approval ?? approval));
      else this.say('error', reply.body?.detail ?? `HTTP ${reply.status}`);
    } catch (error) {
      this.say('error', `the hub did not answer: ${error.message}`);
    } finally {
      this.sending.delete(approval.id);
      this.markSending(approval.id, false);
    }
  }

  markSending(id, busy) {
    const li = this.rows.rows.get(id);
    if (!li) return;
    for (const b of li.parts.actions.querySelectorAll('button, input')) b.disabled = busy;
  }

  say(kind, text) {
    this.message.dataset.kind = kind;
    setText(this.message, text);
    this.message.hidden = false;
  }

  createRow() {
    const li = h('li', { class: 'approval', testid: 'approval-row' });
    li.parts = {
      kind: h('span', { class: 'badge', testid: 'approval-kind' }),
      tool: h('span', { class: 'mono strong', testid: 'approval-tool' }),
      agent: h('span', { class: 'mono', testid: 'approval-agent' }),
      task: h('a', { class: 'mono', testid: 'approval-task' }),
      age: h('span', { class: 'muted', testid: 'approval-age' }),
      expires: h('span', { class: 'muted', testid: 'approval-expires' }),
      summary: h('p', { class: 'approval-summary', testid: 'approval-summary' }),
      detail: h('pre', { class: 'approval-detail', testid: 'approval-detail' }),
      actions: h('div', { class: 'approval-actions', testid: 'approval-actions' }),
    };
    const p = li.parts;
    li.addEventListener('click', (event) => {
      if (!event.target.closest('button, a')) this.select(li.dataset.key);
    });
    li.append(
      h('div', { class: 'approval-head' }, p.kind, p.tool, p.agent, p.task, p.age, p.expires),
      p.summary,
      p.detail,
      p.actions,
    );
    return li;
  }

  updateRow(li, a) {
    const p = li.parts;
    li.approval = a;
    setAttr(li, 'data-approval-id', a.id);
    setAttr(li, 'data-kind', a.kind ?? 'permission');
    setText(p.kind, a.kind ?? 'permission');
    setText(p.tool, a.tool ?? '');
    setText(p.agent, a.agent_id ? `agent ${a.agent_id}` : '');
    setText(p.task, a.task_id ? `task ${a.task_id}` : '');
    setAttr(p.task, 'href', a.task_id ? link('tasks', a.task_id) : null);
    setText(p.summary, a.summary ?? '');
    p.detail.hidden = !a.detail;
    setText(p.detail, a.detail ?? ''); // text, never markup: an agent's command stays inert
    this.renderAge(li);
    this.renderActions(li, a);
  }

  renderAge(li, now = Date.now()) {
    const a = li.approval;
    setText(li.parts.age, a.requested_at ? `asked ${ago(a.requested_at, now)}` : '');
    setText(li.parts.expires, a.expires_at ? `expires ${relative(a.expires_at, now)}` : '');
  }

  renderActions(li, a) {
    if (!mayAct()) return replaceChildren(li.parts.actions);
    if (!a.options?.length && a.kind === 'question') return this.renderFreeText(li);
    const options = a.options?.length ? a.options : ['allow', 'deny'];
    const buttons = options.map((option, i) =>
      h(
        'button',
        {
          class: option === 'deny' ? 'button danger' : 'button',
          type: 'button',
          testid: 'approval-answer',
          dataset: { decision: option },
          title: i < 9 ? `key ${i + 1}` : null,
          onclick: () => this.answer(li.approval, option),
        },
        optionLabel(option),
      ),
    );
    replaceChildren(li.parts.actions, buttons);
  }

  /** A question without choices takes free text: decision `answer`, the text as `answer`. */
  renderFreeText(li) {
    if (li.parts.actions.querySelector('form')) return; // keep what is being typed
    const input = h('input', {
      class: 'search',
      type: 'text',
      maxlength: '65536',
      placeholder: 'Your answer',
      'aria-label': 'Your answer',
      testid: 'approval-text',
    });
    const form = h(
      'form',
      {
        class: 'approval-form',
        onsubmit: (event) => {
          event.preventDefault();
          if (input.value.trim()) this.answer(li.approval, 'answer', input.value.trim());
        },
      },
      input,
      h('button', { class: 'button', type: 'submit', testid: 'approval-send' }, 'Send'),
    );
    replaceChildren(li.parts.actions, form);
  }
}

function describe(a) {
  return [a.tool, a.summary].filter(Boolean).join(' · ') || `approval ${a.id}`;
}

/** The 409's message: who answered first, and how. */
export function lostTo(a) {
  const how = a.status === 'answered' ? a.decision : a.status;
  const who = a.by ? ` by ${a.by}` : '';
  const via = a.via && a.via !== a.by ? ` via ${a.via}` : '';
  return `Already decided: ${describe(a)} was ${how}${who}${via}.`;
}
