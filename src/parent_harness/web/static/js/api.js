// The hub's REST API, as the dashboard reads it. Lists are paged by the hub
// (limit + cursor), so the page never asks for more than it shows.

const token = new URLSearchParams(location.search).get('token');

/** The token the page was opened with (?token=...), or null. */
export function accessToken() {
  return token;
}

/** GET a JSON document; params with empty values are left out. Throws on HTTP errors. */
export async function getJSON(path, params = {}, { signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') url.searchParams.set(key, String(value));
  }
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(url, { headers, signal, cache: 'no-store' });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText} for ${url.pathname}`);
  return response.json();
}

/** One page of a list endpoint: {seq, items, next_cursor}. */
export function page(path, params = {}, options = {}) {
  return getJSON(path, params, options);
}

/** True when the error only says the request was cancelled. */
export function isAbort(error) {
  return error?.name === 'AbortError';
}
