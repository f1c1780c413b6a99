// The dashboard's one WebSocket to the hub (protocol v1): connects, resumes,
// reconnects with backoff, pings for the round-trip time, and hands every
// message that is not its own business (pong, reset) to `onMessages`.
//
// A browser cannot set headers on a WebSocket, so the token travels as a
// subprotocol next to `harness.v1` (never in the URL); the hub answers with
// `harness.v1`. Refused with 4401, the socket waits for a new token (`resume`).

import { accessToken, reportRefused } from './api.js';

const PING_EVERY_MS = 5000;
const SILENCE_LIMIT_MS = 15000; // no frame at all (not even a pong) this long: the link is dead
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10000;
const SUBPROTOCOL = 'harness.v1';
const TOKEN_PROTOCOL = 'harness.token.';
const CLOSE_UNAUTHORIZED = 4401;

/**
 * Delay before reconnect attempt n (1-based): exponential with jitter, the first
 * within 0.25-0.5 s, never more than 10 s ("full jitter" would allow 0 ms storms
 * after a hub restart; half jitter spreads clients while keeping the bound).
 */
export function backoffDelay(attempt) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return ceiling * (0.5 + Math.random() * 0.5);
}

/** The subprotocols to offer: `harness.v1`, and the token as `harness.token.<base64url>`. */
export function subprotocols(token) {
  if (!token) return [SUBPROTOCOL];
  const bytes = new TextEncoder().encode(token);
  // base64url without padding: `=`, `+` and `/` are not allowed in a subprotocol (RFC 6455, 4.1).
  const base64 = btoa(String.fromCharCode(...bytes));
  return [
    SUBPROTOCOL,
    TOKEN_PROTOCOL + base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
  ];
}

/** The hub's WebSocket, with the resume position the store gives it. */
export class HubSocket {
  /**
   * position(): {seq, epoch} of the last applied event, or null to ask for a snapshot.
   * onMessages(messages): every server message but pong, in order, a frame at a time.
   * onReset(payload): the hub cannot replay; state must be reloaded (a snapshot follows).
   * onStatus(status): the connection's state changed.
   */
  constructor({ path = '/ws', position, onMessages, onReset, onStatus }) {
    this.path = path;
    this.position = position;
    this.onMessages = onMessages;
    this.onReset = onReset;
    this.onStatus = onStatus;
    this.ws = null;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pingId = 0;
    this.welcomed = false;
    this.resync = false;
    this.stopped = false;
    this.listeners = [];
    this.tokenUsed = null;
    this.status = {
      state: 'connecting', // connecting | connected | reconnecting | offline | unauthorized
      attempt: 0,
      rttMs: null,
      nextRetryAt: null,
      lastFrameAt: null,
      resumedFrom: null,
      reason: null,
    };
  }

  /** Connects, and keeps reconnecting until `stop()` (the dashboard's: the page's lifetime). */
  start() {
    this.stopped = false;
    this.listeners = [
      [
        document,
        'visibilitychange',
        () => document.visibilityState === 'visible' && this.reconnectNow(),
      ],
      [window, 'online', () => this.reconnectNow()],
      [window, 'offline', () => this.drop('browser offline')],
    ];
    for (const [target, type, fn] of this.listeners) target.addEventListener(type, fn);
    this.connect();
  }

  /** Closes the socket for good: no reconnect (a session's output socket, page left). */
  stop() {
    this.stopped = true;
    for (const [target, type, fn] of this.listeners ?? []) target.removeEventListener(type, fn);
    this.listeners = [];
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.close(1000, 'done');
    }
  }

  /** Skips the backoff wait (the tab is visible again, the network is back). */
  reconnectNow() {
    if (this.status.state === 'unauthorized') return; // waits for a token: see resume()
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      if (this.welcomed) this.ping();
      return;
    }
    clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Connects again after a refusal, with the token the operator has just given. */
  resume() {
    if (this.status.state !== 'unauthorized') return this.reconnectNow();
    this.setStatus({ state: 'connecting', attempt: 0, reason: null });
    this.connect();
  }

  url() {
    const url = new URL(this.path, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('client', 'dashboard');
    const from = this.resync ? null : this.position();
    if (from && from.seq > 0) {
      url.searchParams.set('since', String(from.seq));
      if (from.epoch) url.searchParams.set('epoch', from.epoch);
    } else {
      url.searchParams.set('snapshot', '1');
    }
    return { url, from };
  }

  connect() {
    if (this.stopped) return;
    const { url, from } = this.url();
    this.resync = false;
    this.welcomed = false;
    this.setStatus({ nextRetryAt: null, resumedFrom: from ? from.seq : null });
    this.tokenUsed = accessToken();
    const ws = new WebSocket(url, subprotocols(this.tokenUsed));
    this.ws = ws;
    ws.onmessage = (event) => this.receive(ws, event.data);
    ws.onclose = (event) => this.closed(ws, event);
  }

  receive(ws, data) {
    if (ws !== this.ws) return;
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return; // not protocol v1; the hub never sends this
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    const now = Date.now();
    const forward = [];
    for (const msg of messages) {
      if (msg.type === 'pong') this.pong(msg.payload, now);
      else if (msg.type === 'reset') return this.reset(ws, msg.payload, forward);
      else forward.push(msg);
      if (msg.type === 'welcome') this.welcome();
    }
    this.status.lastFrameAt = now;
    if (forward.length) this.onMessages(forward);
  }

  welcome() {
    this.welcomed = true;
    this.setStatus({ state: 'connected', attempt: 0, reason: null });
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.tick(), PING_EVERY_MS);
    this.ping();
  }

  /** The hub cannot replay what we missed: drop position, reconnect for a snapshot. */
  reset(ws, payload, before) {
    if (before.length) this.onMessages(before);
    this.onReset(payload);
    this.resync = true;
    ws.close(1000, 'reset');
  }

  tick() {
    const silent = Date.now() - (this.status.lastFrameAt ?? 0);
    if (silent > SILENCE_LIMIT_MS) return this.drop('no frames from the hub');
    this.ping();
  }

  ping() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.pingId += 1;
    const frame = { type: 'ping', payload: { id: String(this.pingId), ts: Date.now() } };
    this.ws.send(JSON.stringify(frame));
  }

  pong(payload, now) {
    const sent = Number(payload?.client_ts);
    if (Number.isFinite(sent)) this.setStatus({ rttMs: Math.max(0, now - sent) });
  }

  /**
   * The socket is gone. A drop after a welcome is "reconnecting" (attempt 1);
   * a failed attempt, or a browser without network, is "offline".
   */
  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    ws.onmessage = null;
    ws.onclose = null;
    if (this.resync) return this.connect();
    if (event.code === CLOSE_UNAUTHORIZED) return this.refused();
    const wasConnected = this.welcomed;
    const attempt = wasConnected ? 1 : this.status.attempt + 1;
    const delay = backoffDelay(attempt);
    this.setStatus({
      state: wasConnected && navigator.onLine ? 'reconnecting' : 'offline',
      attempt,
      reason: event.reason || closeReason(event.code),
      nextRetryAt: Date.now() + delay,
    });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** The hub refused the token: no retry until `resume()` brings another one. */
  refused() {
    const token = accessToken();
    if (token !== null && token !== this.tokenUsed) return this.connect(); // a new one came meanwhile
    this.setStatus({
      state: 'unauthorized',
      attempt: 0,
      reason: closeReason(CLOSE_UNAUTHORIZED),
      nextRetryAt: null,
    });
    reportRefused(this.tokenUsed);
  }

  /** Closes the current socket now, as if the hub had dropped it. */
  drop(reason) {
    const ws = this.ws;
    if (!ws) return;
    ws.close(4000, reason);
    this.closed(ws, { code: 4000, reason });
  }

  setStatus(patch) {
    Object.assign(this.status, patch);
    this.onStatus({ ...this.status });
  }
}

function closeReason(code) {
  const reasons = {
    1001: 'hub shutting down',
    1006: 'connection lost',
    1009: 'frame too big',
    4400: 'bad parameters',
    4401: 'missing or wrong token',
    4403: 'room not allowed',
    4408: 'too slow',
    4429: 'too many messages',
  };
  return reasons[code] ?? `closed (${code})`;
}
