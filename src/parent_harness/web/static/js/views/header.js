// The header on every page: WebSocketStatus, BudgetIndicator, the stale banner
// and the active nav link. Ages tick once a second; nothing else polls.

import { h, setAttr, setText } from '../dom.js';
import { ago, clock, money, relative, span } from '../format.js';

const WARNING_AT = 0.8;
const CRITICAL_AT = 1.0;

/** Connection state, round-trip time and the age of the last event. */
export class WebSocketStatus {
  constructor(root) {
    this.root = root;
    this.dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
    this.label = h('span', { class: 'ws-label', testid: 'ws-state' });
    this.rtt = h('span', { class: 'ws-meta', testid: 'ws-rtt', title: 'ping round trip' });
    this.age = h('span', {
      class: 'ws-meta',
      testid: 'ws-last-event',
      title: 'age of the last event',
    });
    root.replaceChildren(this.dot, this.label, this.rtt, this.age);
    this.status = { state: 'connecting', attempt: 0 };
    this.lastEventAt = null;
  }

  setStatus(status) {
    this.status = status;
    this.render();
  }

  setLastEvent(at) {
    this.lastEventAt = at;
  }

  render(now = Date.now()) {
    const s = this.status;
    setAttr(this.root, 'data-state', s.state);
    setAttr(this.root, 'data-attempt', s.attempt);
    setAttr(this.root, 'title', s.reason ? `last close: ${s.reason}` : 'live');
    setText(this.label, stateText(s, now));
    setText(
      this.rtt,
      s.rttMs === null || s.rttMs === undefined ? 'rtt —' : `rtt ${Math.round(s.rttMs)}ms`,
    );
    setText(this.age, this.lastEventAt ? `event ${ago(this.lastEventAt, now)}` : 'no events yet');
  }
}

function stateText(s, now) {
  if (s.state === 'connected') return 'connected';
  if (s.state === 'connecting') return 'connecting…';
  if (s.state === 'unauthorized') return 'needs a token';
  const retry = s.nextRetryAt && s.nextRetryAt > now ? ` in ${span(s.nextRetryAt - now)}` : '…';
  if (s.state === 'reconnecting') return `reconnecting · attempt ${s.attempt}${retry}`;
  return `offline · attempt ${s.attempt}${retry}`;
}

/** Spent against limit as a gauge; warning at 80 %, critical at 100 %; burn rate and run-out. */
export class BudgetIndicator {
  constructor(root) {
    this.root = root;
    this.fill = h('span', { class: 'gauge-fill' });
    this.gauge = h(
      'span',
      {
        class: 'gauge',
        role: 'meter',
        'aria-label': 'budget spent',
        'aria-valuemin': '0',
        'aria-valuemax': '100',
      },
      this.fill,
    );
    this.amount = h('span', { class: 'budget-amount', testid: 'budget-amount' });
    this.pct = h('span', { class: 'budget-pct', testid: 'budget-percent' });
    this.burn = h('span', { class: 'budget-meta', testid: 'budget-burn' });
    this.runout = h('span', { class: 'budget-meta', testid: 'budget-runout' });
    root.replaceChildren(this.gauge, this.pct, this.amount, this.burn, this.runout);
    this.budget = null;
  }

  setBudget(budget) {
    this.budget = budget;
    this.render();
  }

  render(now = Date.now()) {
    const b = this.budget;
    if (!b) {
      setAttr(this.root, 'data-level', 'none');
      setText(this.pct, 'budget —');
      for (const el of [this.amount, this.burn, this.runout]) setText(el, '');
      this.fill.style.width = '0%';
      return;
    }
    const ratio = b.limit_usd ? (b.spent_usd ?? 0) / b.limit_usd : null;
    setAttr(this.root, 'data-level', budgetLevel(ratio));
    setAttr(this.root, 'title', `period ${b.period}`);
    setAttr(this.gauge, 'aria-valuenow', ratio === null ? null : Math.round(ratio * 100));
    this.fill.style.width = `${Math.min(100, (ratio ?? 0) * 100)}%`;
    setText(this.pct, ratio === null ? 'no limit' : `${Math.round(ratio * 100)}%`);
    setText(this.amount, `${money(b.spent_usd ?? 0)} / ${b.limit_usd ? money(b.limit_usd) : '∞'}`);
    setText(
      this.burn,
      b.burn_rate_usd_per_hour != null ? `${money(b.burn_rate_usd_per_hour)}/h` : '',
    );
    setText(this.runout, runoutText(b, ratio, now));
  }
}

/** ok / warning / critical for a spent ratio (null: no limit). */
export function budgetLevel(ratio) {
  if (ratio === null) return 'ok';
  if (ratio >= CRITICAL_AT) return 'critical';
  if (ratio >= WARNING_AT) return 'warning';
  return 'ok';
}

function runoutText(b, ratio, now) {
  if (ratio !== null && ratio >= CRITICAL_AT) return 'exhausted';
  if (!b.projected_exhaustion_at) return '';
  return `out ${relative(b.projected_exhaustion_at, now)}`;
}

/** Marks the page stale while the socket is down, with the time of the data shown. */
export class StaleMarker {
  constructor(banner) {
    this.banner = banner;
    this.since = null;
  }

  setStatus(status, dataAt) {
    const stale = status.state !== 'connected';
    document.body.dataset.stale = String(stale);
    if (!stale) {
      this.since = null;
      this.banner.hidden = true;
      return;
    }
    this.since = this.since ?? Date.now();
    this.banner.hidden = status.state === 'connecting' && !dataAt;
    const asOf = dataAt ? clock(dataAt) : 'never';
    setText(
      this.banner,
      `Stale: the hub is not connected (${status.reason ?? status.state}). Data shown as of ${asOf}; it updates again on reconnect.`,
    );
  }
}

/** The number of approvals waiting for an answer, on every page (the Inbox's nav link). */
export class InboxCount {
  constructor(root) {
    this.root = root;
  }

  render(pending) {
    setText(this.root, String(pending));
    setAttr(this.root, 'data-count', pending);
    setAttr(this.root, 'aria-label', `${pending} waiting for an answer`);
  }
}

/** Highlights the nav link of the current page. */
export function markActiveNav(nav, page) {
  for (const a of nav.querySelectorAll('a[data-route]')) {
    if (a.dataset.route === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}
