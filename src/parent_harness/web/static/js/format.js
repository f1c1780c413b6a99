// Formatting of times, money and counts for display. Pure functions.

/** Milliseconds since the epoch of a protocol time, or NaN. */
export function timeMs(iso) {
  return iso ? Date.parse(iso) : NaN;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n) {
  return n < 10 ? `0${n}` : String(n);
}

// Formatted by hand: the first toLocaleTimeString call initialises ICU, which costs tens
// of milliseconds of main thread on a cold page, and the clock is always 24 h anyway.

/** "19:30:12" in local time. */
export function clock(iso) {
  const ms = typeof iso === 'number' ? iso : timeMs(iso);
  if (Number.isNaN(ms)) return '—';
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "Nov 25 19:30:12" in local time. */
export function dateTime(iso) {
  const ms = timeMs(iso);
  if (Number.isNaN(ms)) return '—';
  const d = new Date(ms);
  return `${MONTHS[d.getMonth()]} ${d.getDate()} ${clock(ms)}`;
}

/** A span of milliseconds, coarse and short: "850ms", "12s", "4m", "2h 05m", "3d". */
export function span(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)}ms`;
  if (abs < 60_000) return `${Math.floor(abs / 1000)}s`;
  if (abs < 3_600_000) return `${Math.floor(abs / 60_000)}m`;
  if (abs < 86_400_000) {
    const hours = Math.floor(abs / 3_600_000);
    const minutes = Math.floor((abs % 3_600_000) / 60_000);
    return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  }
  return `${Math.floor(abs / 86_400_000)}d`;
}

/** How long ago a time was: "12 s ago". */
export function ago(iso, now = Date.now()) {
  const ms = typeof iso === 'number' ? iso : timeMs(iso);
  if (Number.isNaN(ms)) return '—';
  return `${span(Math.max(0, now - ms))} ago`;
}

/** Dollars: "$12.30", small amounts with more digits ("$0.0042"). */
export function money(usd) {
  if (usd === null || usd === undefined || Number.isNaN(usd)) return '—';
  const digits = Math.abs(usd) > 0 && Math.abs(usd) < 0.1 ? 4 : 2;
  return `$${usd.toFixed(digits)}`;
}

/** A count, compact: 950, 12.3k, 4.1M. */
export function count(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (Math.abs(n) < 1000) return String(Math.round(n));
  if (Math.abs(n) < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** A percentage 0..100 with no decimals, or "—". */
export function percent(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return `${Math.round(value)}%`;
}

/** "in 3 h 20 min" / "12 min ago" relative to now. */
export function relative(iso, now = Date.now()) {
  const ms = timeMs(iso);
  if (Number.isNaN(ms)) return '—';
  return ms >= now ? `in ${span(ms - now)}` : `${span(now - ms)} ago`;
}

/** Tokens in/out as "12.3k in · 4.1k out". */
export function tokens(usage) {
  if (!usage) return '—';
  return `${count(usage.input ?? 0)} in · ${count(usage.output ?? 0)} out`;
}

/** A short id for tight columns: the last 8 characters. */
export function shortId(id) {
  if (!id) return '—';
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}
