// Small live charts on a canvas: events per second and spend over the last hour.
// The history comes from /api/stats/history; live events extend it.

const HOUR_MS = 3_600_000;

/** Buckets of `bucketS` seconds over the last hour: {t (ms), events, spent}. */
export class Timeline {
  constructor(bucketS = 60) {
    this.bucketMs = bucketS * 1000;
    this.buckets = new Map();
  }

  /** Loads the server's history ({bucket_s, buckets: [{t, events, spent_usd}]}). */
  load(history) {
    if (history.bucket_s) this.bucketMs = history.bucket_s * 1000;
    const fresh = new Map();
    for (const b of history.buckets ?? []) {
      const t = this.key(toMs(b.t));
      fresh.set(t, { t, events: b.events ?? 0, spent: b.spent_usd ?? null });
    }
    // Live counts that arrived while the history was loading are newer: keep the larger.
    for (const [t, live] of this.buckets) {
      const old = fresh.get(t);
      if (!old) fresh.set(t, live);
      else {
        old.events = Math.max(old.events, live.events);
        old.spent = live.spent ?? old.spent;
      }
    }
    this.buckets = fresh;
    this.trim();
  }

  key(ms) {
    return Math.floor(ms / this.bucketMs) * this.bucketMs;
  }

  bucket(ms) {
    const t = this.key(ms);
    let b = this.buckets.get(t);
    if (!b) {
      b = { t, events: 0, spent: null };
      this.buckets.set(t, b);
    }
    return b;
  }

  countEvent(ms) {
    this.bucket(ms).events += 1;
  }

  setSpent(ms, spent) {
    this.bucket(ms).spent = spent;
  }

  trim(now = Date.now()) {
    for (const t of this.buckets.keys())
      if (t < now - HOUR_MS - this.bucketMs) this.buckets.delete(t);
  }

  /** Every bucket of the last hour, oldest first, gaps filled with zero events. */
  series(now = Date.now()) {
    const out = [];
    let spent = null;
    for (let t = this.key(now - HOUR_MS + this.bucketMs); t <= now; t += this.bucketMs) {
      const b = this.buckets.get(t);
      spent = b?.spent ?? spent;
      out.push({ t, rate: (b?.events ?? 0) / (this.bucketMs / 1000), spent });
    }
    return out;
  }
}

function toMs(t) {
  if (typeof t === 'number') return t < 1e12 ? t * 1000 : t;
  return Date.parse(t);
}

function cssVar(el, name) {
  return getComputedStyle(el).getPropertyValue(name).trim() || '#888';
}

/** Fits the canvas to its CSS size and device pixels; returns the 2D context and size. */
function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 300;
  const height = canvas.clientHeight || 80;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

/** Bars of events per second; returns the highest rate (the chart's top). */
export function drawRate(canvas, series) {
  const { ctx, width, height } = prepare(canvas);
  const peak = Math.max(0, ...series.map((p) => p.rate));
  const max = Math.max(1, peak);
  const step = width / series.length;
  ctx.fillStyle = cssVar(canvas, '--chart-bar');
  series.forEach((p, i) => {
    const barH = (p.rate / max) * (height - 4);
    if (barH > 0) ctx.fillRect(i * step + 0.5, height - barH, Math.max(1, step - 1), barH);
  });
  baseline(ctx, width, height, canvas);
  return peak;
}

/** A line of spend (USD), stepping where the budget changed. */
export function drawSpend(canvas, series) {
  const { ctx, width, height } = prepare(canvas);
  const values = series.map((p) => p.spent).filter((v) => v !== null);
  baseline(ctx, width, height, canvas);
  if (!values.length) return null;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const range = max - min || 1;
  const step = width / Math.max(1, series.length - 1);
  ctx.strokeStyle = cssVar(canvas, '--chart-line');
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let started = false;
  series.forEach((p, i) => {
    if (p.spent === null) return;
    const y = height - 3 - ((p.spent - min) / range) * (height - 8);
    if (started) ctx.lineTo(i * step, y);
    else ctx.moveTo(i * step, y);
    started = true;
  });
  ctx.stroke();
  if (values.length === 1) {
    const i = series.findIndex((p) => p.spent !== null);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillRect(i * step - 2, height - 5, 4, 4);
  }
  return max;
}

function baseline(ctx, width, height, canvas) {
  ctx.fillStyle = cssVar(canvas, '--border');
  ctx.fillRect(0, height - 1, width, 1);
}
