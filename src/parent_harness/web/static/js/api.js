// The hub's REST API, as the dashboard reads it. Lists are paged by the hub
// (limit + cursor), so the page never asks for more than it shows.
//
// The access token lives in this tab's sessionStorage and never in a URL, where
// proxies and browser history would keep it: REST calls send it as
// `Authorization: Bearer`, the socket as a subprotocol (socket.js). A page opened
// with ?token= (the weaker way) moves it to storage and out of the address bar
// before anything else runs.

const TOKEN_KEY = 'harness.token';
const refusedListeners = new Set();
let memoryToken = null; // when the browser refuses storage (some private modes)

adoptQueryToken();

function adoptQueryToken() {
  const url = new URL(location.href);
  if (!url.searchParams.has('token')) return;
  const token = url.searchParams.get('token');
  if (token) setAccessToken(token);
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url);
}

/** The token this tab presents to the hub, or null. */
export function accessToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

/** Keeps `token` (null forgets it) for this tab only. */
export function setAccessToken(token) {
  memoryToken = token;
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage refused: the token lasts as long as this page
  }
}

/** Calls listener(token) when the hub refuses the token this tab holds (null: none). */
export function onRefused(listener) {
  refusedListeners.add(listener);
}

/**
 * The hub answered 401 (or closed the socket with 4401) to a request made with
 * `tokenUsed`. A refusal of an older token, from a request that was already on its
 * way when the operator entered a new one, says nothing about the new one.
 */
export function reportRefused(tokenUsed) {
  if (tokenUsed !== accessToken()) return;
  for (const listener of refusedListeners) listener(tokenUsed);
}

/** GET a JSON document; params with empty values are left out. Throws on HTTP errors. */
export async function getJSON(path, params = {}, { signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '')
      url.searchParams.set(key, String(value));
  }
  const token = accessToken();
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(url, { headers, signal, cache: 'no-store' });
  if (response.status === 401) reportRefused(token);
  if (!response.ok)
    throw new Error(`${response.status} ${response.statusText} for ${url.pathname}`);
  return response.json();
}

/**
 * POST a JSON body; resolves to {ok, status, body} (body: the answer, or the problem the
 * hub sent), so a refusal such as a merge conflict can be shown with its details.
 */
export async function postJSON(path, body = {}) {
  const token = accessToken();
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(new URL(path, location.origin), {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  if (response.status === 401) reportRefused(token);
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    answer = { detail: `${response.status} ${response.statusText}` };
  }
  return { ok: response.ok, status: response.status, body: answer };
}

/** One page of a list endpoint: {seq, items, next_cursor}. */
export function page(path, params = {}, options = {}) {
  return getJSON(path, params, options);
}

/** True when the error only says the request was cancelled. */
export function isAbort(error) {
  return error?.name === 'AbortError';
}
