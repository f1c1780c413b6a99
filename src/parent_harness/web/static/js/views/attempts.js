// A task's attempts (issue 14): one row per attempt's workspace (branch, commits, files,
// +/-, tests, status, cost), a diff viewer (the changed files, then one file's unified diff
// with line numbers, long files collapsed) and Merge / Squash / Open PR / Discard behind a
// confirmation. The confirmation of a merge lets one choose the strategy (merge, squash or
// rebase) and write the message; that of a pull request its title and body. The fields are
// pre-filled with what the hub would use (GET /api/workspaces/{id}/defaults).
// Git runs on the hub of `harness run`; a refusal (a conflict, a hub without the
// orchestrator) is shown with its detail and, for a conflict, the files.

import { mayAct } from '../access.js';
import { getJSON, postJSON } from '../api.js';
import { h, replaceChildren, setText, table } from '../dom.js';
import { money } from '../format.js';

const COLLAPSE_LINES = 400; // a longer file diff shows this many lines until expanded
const ACTIONS = {
  merge: { label: 'Merge', path: 'merge', body: { strategy: 'merge' } },
  squash: { label: 'Squash', path: 'merge', body: { strategy: 'squash' } },
  pr: { label: 'Open PR', path: 'pr', body: {} },
  discard: { label: 'Discard', path: 'discard', body: {} },
};
const FINISHED = new Set(['active', 'merged', 'discarded']);
const STRATEGIES = ['merge', 'squash', 'rebase'];

export class AttemptsPanel {
  constructor() {
    this.attempts = [];
    this.extra = new Map(); // workspace id -> {session_status, cost_usd} from REST
    this.pending = null; // {action, attempt} awaiting confirmation
    this.rows = h('tbody', { testid: 'attempts' });
    this.confirmBar = h('div', { class: 'confirm-bar', testid: 'attempt-confirm', hidden: true });
    this.message = h('div', { class: 'attempt-message', testid: 'attempt-message', hidden: true });
    this.files = h('ul', { class: 'diff-files', testid: 'diff-files' });
    this.fileDiff = h('div', { class: 'file-diff', testid: 'file-diff' });
    this.diffTitle = h('h3', { testid: 'diff-title' });
    this.diffBox = h(
      'div',
      { class: 'diff-viewer', testid: 'diff-viewer', hidden: true },
      this.diffTitle,
      h('div', { class: 'diff-body' }, this.files, this.fileDiff),
    );
    const head = ['attempt', 'branch', 'commits', 'files', '+/-', 'tests', 'status', 'cost', ''];
    this.el = h(
      'section',
      { class: 'panel', testid: 'attempts-panel' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Attempts')),
      table(head, this.rows),
      this.confirmBar,
      this.message,
      this.diffBox,
    );
  }

  /** A new task: forget the last one's diff and messages. */
  reset() {
    this.attempts = [];
    this.extra.clear();
    this.pending = null;
    this.confirmBar.hidden = true;
    this.message.hidden = true;
    this.diffBox.hidden = true;
    this.render();
  }

  /** Attempts from REST (with their session's status and cost). */
  load(attempts) {
    for (const a of attempts) this.extra.set(a.id, a);
    this.set(attempts);
  }

  /** The attempts as they are now (live workspaces, merged over what REST said). */
  set(attempts) {
    this.attempts = attempts.map((a) => ({ ...(this.extra.get(a.id) ?? {}), ...a }));
    this.render();
  }

  render() {
    const rows = this.attempts.map((a) => this.row(a));
    replaceChildren(
      this.rows,
      rows.length
        ? rows
        : h('tr', { class: 'empty' }, h('td', { colspan: 9 }, 'No attempt in a workspace yet.')),
    );
  }

  row(a) {
    const done = FINISHED.has(a.status);
    const button = (key) =>
      h(
        'button',
        {
          class: 'button small',
          type: 'button',
          testid: `attempt-${key}`,
          disabled: key === 'diff' ? a.status === 'discarded' : done,
          onclick: () => (key === 'diff' ? this.showDiff(a) : this.ask(key, a)),
        },
        key === 'diff' ? 'Diff' : ACTIONS[key].label,
      );
    return h(
      'tr',
      { 'data-attempt': a.attempt, 'data-workspace-id': a.id, testid: 'attempt-row' },
      h('td', { class: 'num' }, `#${a.attempt ?? '?'}`),
      h('td', { class: 'mono branch', title: a.path ?? '' }, a.branch ?? '—'),
      h('td', { class: 'num', testid: 'attempt-commits' }, a.commits ?? 0),
      h('td', { class: 'num', testid: 'attempt-files' }, a.files_changed ?? 0),
      h('td', { class: 'num', testid: 'attempt-diffstat' }, diffstat(a)),
      h('td', { testid: 'attempt-tests' }, testsText(a.tests)),
      h(
        'td',
        {},
        h('span', { class: 'badge', 'data-status': a.status, testid: 'attempt-status' }, a.status),
        a.conflicts?.length ? h('span', { class: 'muted' }, ` ${a.conflicts.join(', ')}`) : null,
        a.pr_url ? h('a', { href: a.pr_url, rel: 'noopener', target: '_blank' }, ' PR') : null,
      ),
      h('td', { class: 'num' }, a.cost_usd != null ? money(a.cost_usd) : '—'),
      h(
        'td',
        { class: 'actions' },
        // A read-only token sees the diff, not the buttons that change the repository.
        (mayAct() ? ['diff', 'merge', 'squash', 'pr', 'discard'] : ['diff']).map((key) =>
          button(key),
        ),
      ),
    );
  }

  async ask(action, attempt) {
    const pending = { action, attempt, fields: null };
    this.pending = pending;
    if (action !== 'discard') pending.fields = await this.fields(action, attempt);
    if (this.pending !== pending) return; // another button was pressed meanwhile
    replaceChildren(
      this.confirmBar,
      h('span', { testid: 'attempt-confirm-text' }, question(action, attempt)),
      pending.fields?.el ?? null,
      h(
        'button',
        {
          class: 'button small danger',
          type: 'button',
          testid: 'attempt-confirm-yes',
          onclick: () => this.confirm(),
        },
        ACTIONS[action].label,
      ),
      h(
        'button',
        {
          class: 'button small',
          type: 'button',
          testid: 'attempt-confirm-no',
          onclick: () => this.cancel(),
        },
        'Cancel',
      ),
    );
    this.confirmBar.hidden = false;
  }

  /** The confirmation's fields for a merge (strategy, message) or a pull request (title,
   * body), pre-filled with the hub's defaults; `body()` is what the request will carry. */
  async fields(action, attempt) {
    let defaults = {};
    try {
      defaults = await getJSON(`/api/workspaces/${encodeURIComponent(attempt.id)}/defaults`);
    } catch {
      // No defaults (an older hub): the fields start empty and the hub fills in its own.
    }
    const text = (testid, label, value, rows) =>
      h(
        'label',
        { class: 'field' },
        label,
        rows
          ? h('textarea', { testid, rows, text: value ?? '' })
          : h('input', { testid, type: 'text', value: value ?? '' }),
      );
    if (action === 'pr') {
      const title = text('attempt-pr-title', 'Title', defaults.pr_title);
      const body = text('attempt-pr-body', 'Body', defaults.pr_body, 6);
      const value = (label) => label.lastChild.value.trim() || undefined;
      return {
        el: h('div', { class: 'confirm-fields' }, title, body),
        body: () => ({ title: value(title), body: value(body) }),
      };
    }
    const strategy = h(
      'select',
      { testid: 'attempt-strategy' },
      STRATEGIES.map((s) => h('option', { value: s, selected: s === action }, s)),
    );
    const message = text('attempt-merge-message', 'Message', defaults.merge_message, 2);
    return {
      el: h(
        'div',
        { class: 'confirm-fields' },
        h('label', { class: 'field' }, 'Strategy', strategy),
        message,
      ),
      body: () => ({
        strategy: strategy.value,
        message: message.lastChild.value.trim() || undefined,
      }),
    };
  }

  cancel() {
    this.pending = null;
    this.confirmBar.hidden = true;
  }

  async confirm() {
    const { action, attempt, fields } = this.pending ?? {};
    this.cancel();
    if (!action) return;
    const spec = ACTIONS[action];
    const path = `/api/workspaces/${encodeURIComponent(attempt.id)}/${spec.path}`;
    const answer = await postJSON(path, fields ? fields.body() : spec.body);
    if (answer.ok) {
      const after = answer.body.workspace ?? {};
      const done =
        after.pr_url && action === 'pr' ? `opened ${after.pr_url}` : `is ${after.status}`;
      this.say('ok', `${spec.label}: attempt #${attempt.attempt} ${done}.`);
      this.set(this.attempts.map((a) => (a.id === attempt.id ? { ...a, ...after } : a)));
      return;
    }
    const conflicts = answer.body?.conflicts ?? [];
    this.say('error', answer.body?.detail ?? `HTTP ${answer.status}`, conflicts);
  }

  say(kind, text, conflicts = []) {
    this.message.dataset.kind = kind;
    replaceChildren(
      this.message,
      h('span', { testid: 'attempt-message-text' }, text),
      conflicts.length
        ? h(
            'ul',
            { testid: 'attempt-conflicts' },
            conflicts.map((f) => h('li', {}, f)),
          )
        : null,
    );
    this.message.hidden = false;
  }

  async showDiff(attempt) {
    this.diffBox.hidden = false;
    setText(this.diffTitle, `Attempt #${attempt.attempt}: ${attempt.branch}`);
    replaceChildren(this.files);
    replaceChildren(this.fileDiff);
    let listing;
    try {
      listing = await getJSON(`/api/workspaces/${encodeURIComponent(attempt.id)}/diff`);
    } catch (error) {
      replaceChildren(this.fileDiff, h('p', { class: 'empty' }, `No diff: ${error.message}`));
      return;
    }
    const items = listing.files.map((f) =>
      h(
        'li',
        { 'data-path': f.path, 'data-status': f.status, testid: 'diff-file' },
        h(
          'button',
          { class: 'link', type: 'button', onclick: () => this.showFile(attempt, f) },
          f.path,
        ),
        h('span', { class: 'muted' }, f.binary ? ' binary' : ` +${f.insertions} −${f.deletions}`),
      ),
    );
    replaceChildren(this.files, items.length ? items : h('li', { class: 'empty' }, 'No change.'));
    if (listing.files.length) await this.showFile(attempt, listing.files[0]);
  }

  async showFile(attempt, file) {
    for (const li of this.files.children)
      li.classList.toggle('selected', li.dataset.path === file.path);
    const url = `/api/workspaces/${encodeURIComponent(attempt.id)}/diff`;
    let answer;
    try {
      answer = await getJSON(url, { file: file.path });
    } catch (error) {
      replaceChildren(this.fileDiff, h('p', { class: 'empty' }, error.message));
      return;
    }
    if (answer.diff === null) {
      replaceChildren(
        this.fileDiff,
        h('p', { class: 'empty', testid: 'diff-binary' }, `${file.path}: binary file, not shown.`),
      );
      return;
    }
    const lines = unifiedLines(answer.diff);
    const diffTable = h('table', { class: 'diff-table', testid: 'diff-lines' });
    const show = (upto) => replaceChildren(diffTable, lines.slice(0, upto).map(lineRow));
    show(COLLAPSE_LINES);
    const more =
      lines.length > COLLAPSE_LINES
        ? h(
            'button',
            {
              class: 'button small',
              type: 'button',
              testid: 'diff-expand',
              onclick: (event) => {
                show(lines.length);
                event.target.remove();
              },
            },
            `Show all ${lines.length} lines`,
          )
        : null;
    const note = answer.truncated
      ? h('p', { class: 'muted', testid: 'diff-truncated' }, 'The diff is truncated (too large).')
      : null;
    replaceChildren(this.fileDiff, h('h4', { class: 'mono' }, file.path), note, diffTable, more);
  }
}

function question(action, a) {
  const into = a.merge_into ?? a.base; // a stacked attempt merges into the configured branch
  if (action === 'discard')
    return `Discard attempt #${a.attempt}? Its worktree and branch ${a.branch} are deleted.`;
  if (action === 'pr')
    return `Push ${a.branch} and open a pull request into ${into} for attempt #${a.attempt}?`;
  return `${ACTIONS[action].label} attempt #${a.attempt} (${a.branch}) into ${into}?`;
}

/** "passed · 12 passed, 1 failed" of an attempt's latest test run, or "—". */
export function testsText(tests) {
  if (!tests) return '—';
  const failed = tests.failed ? `, ${tests.failed} failed` : '';
  return `${tests.status} · ${tests.passed ?? 0} passed${failed}`;
}

/** "+12 −3" of an attempt. */
export function diffstat(a) {
  if (!a) return '';
  return `+${a.insertions ?? 0} −${a.deletions ?? 0}`;
}

/** A unified diff's lines with their old and new line numbers (from the hunk headers). */
export function unifiedLines(text) {
  const out = [];
  let oldNo = 0;
  let newNo = 0;
  let inHunk = false;
  for (const line of text.split('\n')) {
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      inHunk = true;
      out.push({ kind: 'hunk', text: line, old: '', new: '' });
    } else if (!inHunk) {
      if (line) out.push({ kind: 'meta', text: line, old: '', new: '' });
    } else if (line.startsWith('+')) {
      out.push({ kind: 'add', text: line, old: '', new: newNo++ });
    } else if (line.startsWith('-')) {
      out.push({ kind: 'del', text: line, old: oldNo++, new: '' });
    } else if (line.startsWith('\\')) {
      out.push({ kind: 'meta', text: line, old: '', new: '' });
    } else if (line !== '' || out.length) {
      out.push({ kind: 'ctx', text: line, old: oldNo++, new: newNo++ });
    }
  }
  while (out.length && out[out.length - 1].kind === 'ctx' && out[out.length - 1].text === '')
    out.pop();
  return out;
}

function lineRow(line) {
  return h(
    'tr',
    { class: `diff-${line.kind}` },
    h('td', { class: 'ln' }, line.old),
    h('td', { class: 'ln' }, line.new),
    h('td', { class: 'code' }, line.text),
  );
}
