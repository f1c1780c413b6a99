// A small hash router: "#/tasks/abc?status=failed" -> {page: 'tasks', id: 'abc', query}.

const PAGES = new Set(['dashboard', 'tasks', 'plans', 'sessions', 'events', 'telegram', 'inbox']);

/** Parses a location hash into {page, id, query}. Unknown pages fall back to the dashboard. */
export function parseHash(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [path, search = ''] = raw.split('?', 2);
  const [first = '', ...rest] = path.split('/').filter(Boolean).map(decodeURIComponent);
  const page = PAGES.has(first) ? first : 'dashboard';
  return { page, id: rest.length ? rest.join('/') : null, query: new URLSearchParams(search) };
}

/** A hash link to a page (and optionally one item and query parameters). */
export function link(page, id = null, query = null) {
  let hash = page === 'dashboard' ? '#/' : `#/${page}`;
  if (id !== null && id !== undefined) hash += `/${encodeURIComponent(String(id))}`;
  const search = query ? new URLSearchParams(query).toString() : '';
  return search ? `${hash}?${search}` : hash;
}

/** Calls onRoute(route) now and on every hash change. */
export function startRouter(onRoute) {
  const go = () => onRoute(parseHash(location.hash));
  window.addEventListener('hashchange', go);
  go();
}

/** Replaces the query part of the current hash without a history entry per keystroke. */
export function replaceQuery(query) {
  const route = parseHash(location.hash);
  const target = link(route.page, route.id, query);
  if (target !== location.hash) history.replaceState(null, '', target);
}
