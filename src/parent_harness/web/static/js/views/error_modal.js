// The ErrorDetailsModal: a failed task's message, kind, exit code, stack,
// output tail and suggestions, with a link to the event that carried them.

import { h, replaceChildren } from '../dom.js';
import { dateTime } from '../format.js';
import { link } from '../router.js';

export class ErrorDetailsModal {
  constructor(dialog) {
    this.dialog = dialog;
    dialog.addEventListener('click', (event) => {
      if (event.target === dialog) dialog.close(); // a click on the backdrop
    });
  }

  /** Opens the modal for a task that carries error_details. */
  open(task) {
    const err = task?.error_details;
    if (!err) return;
    replaceChildren(this.dialog, this.content(task, err));
    if (!this.dialog.open) this.dialog.showModal();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  content(task, err) {
    const close = h(
      'button',
      {
        class: 'icon-button',
        type: 'button',
        testid: 'error-close',
        'aria-label': 'Close',
        onclick: () => this.close(),
      },
      '×',
    );
    return h(
      'div',
      { class: 'modal-body' },
      h(
        'header',
        { class: 'modal-head' },
        h(
          'div',
          {},
          h('div', { class: 'eyebrow' }, 'Error details'),
          h('h2', { testid: 'error-task-title' }, task.title || task.id),
        ),
        close,
      ),
      h('p', { class: 'error-message', testid: 'error-message' }, err.message || '(no message)'),
      h(
        'dl',
        { class: 'facts' },
        fact('kind', err.kind ?? '—', 'error-kind'),
        fact('exit code', err.exit_code ?? '—', 'error-exit-code'),
        fact('at', dateTime(err.at), 'error-at'),
        fact(
          'task',
          h('a', { href: link('tasks', task.id), onclick: () => this.close() }, task.id),
          'error-task',
        ),
        fact(
          'event',
          eventLink(err.seq, () => this.close()),
          'error-event',
        ),
      ),
      section('Suggestions', suggestions(err.suggestions)),
      section('Stack', pre(err.stack, 'error-stack')),
      section('Output (tail)', pre(err.output_tail, 'error-output')),
    );
  }
}

function fact(label, value, testid) {
  return [h('dt', {}, label), h('dd', { testid }, value)];
}

function eventLink(seq, onclick) {
  if (seq === null || seq === undefined) return '—';
  return h(
    'a',
    { href: link('events', seq), testid: 'error-event-link', onclick },
    `event #${seq}`,
  );
}

function section(title, body) {
  return h('section', { class: 'modal-section' }, h('h3', {}, title), body);
}

function pre(text, testid) {
  return h('pre', { class: 'code', testid }, text || '(none)');
}

function suggestions(items) {
  if (!items?.length) return h('p', { class: 'muted', testid: 'error-suggestions' }, 'none');
  return h(
    'ul',
    { class: 'suggestions', testid: 'error-suggestions' },
    items.map((s) => h('li', {}, s)),
  );
}
