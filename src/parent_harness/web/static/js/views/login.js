// The sign-in form: shown instead of a failing page when the hub refuses it (a 401,
// or the socket closed with 4401). The token it takes is kept for this tab only
// (api.js) and is never put in a URL.

import { h } from '../dom.js';

export class LoginForm {
  /** dialog: the <dialog> to fill; onToken(token): the operator submitted one. */
  constructor(dialog, { onToken }) {
    this.dialog = dialog;
    this.onToken = onToken;
    this.input = h('input', {
      class: 'search',
      id: 'login-token',
      type: 'password',
      name: 'token',
      required: true,
      autocomplete: 'current-password',
      spellcheck: 'false',
      testid: 'login-token',
    });
    this.error = h(
      'p',
      { class: 'error-message', role: 'alert', testid: 'login-error', hidden: true },
      'The hub refused that token.',
    );
    const form = h(
      'form',
      { class: 'modal-body', testid: 'login-form', onsubmit: (event) => this.submit(event) },
      h('header', { class: 'modal-head' }, h('h2', {}, 'This hub needs a token')),
      h('label', { class: 'login-field', for: 'login-token' }, 'Token', this.input),
      this.error,
      h('p', { class: 'muted' }, 'Kept in this tab only, until it closes.'),
      h('button', { class: 'button', type: 'submit', testid: 'login-submit' }, 'Sign in'),
    );
    dialog.replaceChildren(form);
    // Escape would leave a page that cannot load anything: only a token closes the form.
    dialog.addEventListener('cancel', (event) => event.preventDefault());
  }

  /** Opens the form; with `refused`, says that the token the page held was refused. */
  open({ refused = false } = {}) {
    if (refused) this.error.hidden = false;
    if (this.dialog.open) return;
    if (!refused) this.error.hidden = true;
    this.dialog.showModal();
    this.input.focus();
  }

  submit(event) {
    event.preventDefault();
    const token = this.input.value.trim();
    if (!token) return;
    this.input.value = '';
    this.dialog.close();
    this.onToken(token);
  }
}
