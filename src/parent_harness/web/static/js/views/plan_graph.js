// One plan as a graph (#/plans/<plan_id>): its tasks as a layered DAG in SVG, edges by
// condition, live status colours, the critical path (the longest chain of unfinished
// tasks), a click on a task opens its page. #/plans lists the plans the store knows.
//
// The plan's tasks come from the hub (GET /api/tasks?plan_id=, every page) and then from
// the store as task events arrive; a `plan:applied` for this plan loads it again.

import { getJSON, isAbort } from '../api.js';
import { criticalPath, layoutDag, placeNodes } from '../dag_layout.js';
import { h, replaceChildren, setAttr, setText } from '../dom.js';
import { count } from '../format.js';
import { viewing } from '../moment.js';
import { link } from '../router.js';

const SVG = 'http://www.w3.org/2000/svg';
const PAGE = 500;
const MAX_TASKS = 5000; // a plan larger than this is drawn in part, and says so
const FINISHED = new Set(['completed', 'failed', 'cancelled']);
const NODE = { nodeWidth: 168, nodeHeight: 44, gapX: 24, gapY: 60, margin: 16 };
const LABEL_CHARS = 22;

/** The edges of `tasks` ([{parent, child, when}]), from each task's depends_on. */
export function edgesOf(tasks) {
  const edges = [];
  for (const t of tasks) {
    for (const d of t.depends_on ?? []) {
      const parent = typeof d === 'string' ? d : d.id;
      edges.push({
        parent,
        child: t.id,
        when: (typeof d === 'string' ? null : d.when) ?? 'on_success',
      });
    }
  }
  return edges;
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  for (const child of children) el.append(child);
  return el;
}

function short(text) {
  return text.length > LABEL_CHARS ? `${text.slice(0, LABEL_CHARS - 1)}…` : text;
}

export class PlanGraphView {
  constructor({ store }) {
    this.store = store;
    this.planId = null;
    this.tasks = new Map(); // the plan's tasks, by id
    this.nodes = new Map(); // id -> <a> node element
    this.edgeEls = [];
    this.outside = new Set(); // parents named by the plan's tasks that are not in it
    this.shapeKey = ''; // ids and edges drawn: a change of shape lays the graph out again
    this.controller = null;
    this.el = h('section', { class: 'page page-plan', testid: 'page-plan' });
    this.title = h('h1', { testid: 'plan-title' });
    this.summary = h('span', { class: 'muted', testid: 'plan-summary' });
    this.critical = h('p', { class: 'plan-critical', testid: 'plan-critical' });
    this.notice = h('p', { class: 'empty', testid: 'plan-empty', hidden: true });
    this.canvas = svg('svg', { class: 'dag', 'data-testid': 'plan-graph' });
    this.scroller = h('div', { class: 'dag-scroll', testid: 'plan-graph-scroll' }, this.canvas);
    this.index = h('ul', { class: 'rows', testid: 'plan-list', hidden: true });
    this.legend = h(
      'p',
      { class: 'dag-legend muted' },
      h('span', { class: 'legend-edge', 'data-when': 'on_success' }, 'on success'),
      h('span', { class: 'legend-edge', 'data-when': 'on_failure' }, 'on failure'),
      h('span', { class: 'legend-edge', 'data-when': 'always' }, 'always'),
      h('span', { class: 'legend-edge', 'data-critical': 'true' }, 'critical path'),
    );
    this.el.append(
      h(
        'div',
        { class: 'toolbar' },
        h('a', { href: link('tasks'), class: 'back' }, '← Tasks'),
        this.title,
        this.summary,
      ),
      this.notice,
      this.index,
      h('section', { class: 'panel plan-panel' }, this.legend, this.critical, this.scroller),
    );
  }

  show(route, missed = false) {
    if (!route.id) return this.showIndex();
    this.index.hidden = true;
    this.el.querySelector('.plan-panel').hidden = false;
    if (route.id === this.planId && !missed) return;
    if (route.id !== this.planId) this.clear();
    this.planId = route.id;
    setText(this.title, `Plan ${route.id}`);
    setAttr(this.canvas, 'aria-label', `The tasks of plan ${route.id} and their dependencies`);
    this.load();
  }

  /** Forgets the plan on view (another one is asked for). */
  clear() {
    this.controller?.abort();
    this.tasks = new Map();
    this.nodes = new Map();
    this.edgeEls = [];
    this.outside = new Set();
    this.shapeKey = '';
    this.canvas.replaceChildren();
    setText(this.summary, '');
    setText(this.critical, '');
    this.notice.hidden = true;
  }

  /** #/plans: the plans of the tasks the store holds. */
  showIndex() {
    this.clear();
    this.planId = null;
    setText(this.title, 'Plans');
    this.el.querySelector('.plan-panel').hidden = true;
    const plans = new Map();
    for (const t of this.store.tasks.values())
      if (t.plan_id) plans.set(t.plan_id, (plans.get(t.plan_id) ?? 0) + 1);
    const ids = [...plans.keys()].sort();
    this.index.hidden = false;
    replaceChildren(
      this.index,
      ids.length
        ? ids.map((id) =>
            h(
              'li',
              { class: 'session-line' },
              h('a', { href: link('plans', id), testid: 'plan-link' }, id),
              h('span', { class: 'muted' }, `${count(plans.get(id))} tasks in view`),
            ),
          )
        : h('li', { class: 'empty' }, 'No plan among the tasks in view.'),
    );
  }

  /** Every task of the plan from the hub, then what the store holds newer. */
  async load() {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const planId = this.planId;
    this.el.dataset.loading = 'true';
    const found = new Map();
    let partial = false;
    try {
      let cursor = null;
      // The hub lists the plan's tasks as they are now; a past moment draws the store's.
      if (!viewing())
        do {
          const page = await getJSON(
            '/api/tasks',
            { plan_id: planId, limit: PAGE, cursor },
            { signal: controller.signal },
          );
          for (const t of page.items) found.set(t.id, t);
          cursor = page.next_cursor;
          if (cursor && found.size >= MAX_TASKS) {
            partial = true;
            break;
          }
        } while (cursor);
    } catch (error) {
      if (isAbort(error)) return;
      console.warn('plan tasks unavailable:', error.message); // the store's tasks are drawn
    }
    if (planId !== this.planId) return;
    for (const t of this.store.tasks.values()) {
      if (t.plan_id !== planId) continue;
      const known = found.get(t.id);
      if (!known || t.updated_at >= known.updated_at) found.set(t.id, t);
    }
    performance.mark('harness:plan-fetched');
    this.tasks = found;
    this.partial = partial;
    this.shapeKey = '';
    this.el.dataset.loading = 'false';
    this.render();
    performance.mark('harness:plan-rendered');
  }

  render() {
    const tasks = [...this.tasks.values()];
    const all = edgesOf(tasks);
    const edges = all.filter((e) => this.tasks.has(e.parent));
    this.outside = new Set(all.filter((e) => !this.tasks.has(e.parent)).map((e) => e.parent));
    this.notice.hidden = tasks.length > 0 || this.el.dataset.loading === 'true';
    if (!tasks.length) setText(this.notice, `No task of plan ${this.planId} is known.`);
    const key = shapeKey(tasks, edges);
    if (key !== this.shapeKey) {
      this.shapeKey = key;
      this.draw(tasks, edges);
    }
    this.paint(tasks, edges);
  }

  /** Lays the graph out and builds the SVG (when the set of tasks or edges changed). */
  draw(tasks, edges) {
    const ids = tasks.map((t) => t.id).sort();
    const layout = layoutDag(ids, edges);
    const place = placeNodes(layout, NODE);
    this.layout = layout;
    this.canvas.setAttribute('width', place.width);
    this.canvas.setAttribute('height', place.height);
    this.canvas.setAttribute('viewBox', `0 0 ${place.width} ${place.height}`);
    const edgeLayer = svg('g', { class: 'dag-edges' });
    const nodeLayer = svg('g', { class: 'dag-nodes' });
    this.edgeEls = [];
    for (const e of edges) {
      const from = place.at.get(e.parent);
      const to = place.at.get(e.child);
      const x1 = from.x + NODE.nodeWidth / 2;
      const y1 = from.y + NODE.nodeHeight;
      const x2 = to.x + NODE.nodeWidth / 2;
      const y2 = to.y;
      const bend = Math.max(24, (y2 - y1) / 2);
      const path = svg('path', {
        class: 'dag-edge',
        d: `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`,
        'data-testid': 'plan-edge',
        'data-parent': e.parent,
        'data-child': e.child,
        'data-when': e.when,
        'marker-end': 'url(#dag-arrow)',
      });
      edgeLayer.append(path); // no group per edge: a thousand fewer elements to style
      if (e.when !== 'on_success') {
        const label = svg('text', {
          class: 'dag-edge-label',
          x: (x1 + x2) / 2 + 4,
          y: (y1 + y2) / 2,
          'data-testid': 'plan-edge-label',
        });
        label.textContent = e.when === 'on_failure' ? 'on failure' : 'always';
        edgeLayer.append(label);
      }
      this.edgeEls.push({ edge: e, el: path });
    }
    this.nodes = new Map();
    for (const t of tasks) {
      const at = place.at.get(t.id);
      const title = svg('title');
      const label = svg('text', { class: 'dag-label', x: at.x + 10, y: at.y + 18 });
      const status = svg('text', { class: 'dag-status', x: at.x + 10, y: at.y + 35 });
      const node = svg(
        'a',
        {
          class: 'dag-node',
          href: link('tasks', t.id),
          'data-testid': 'plan-node',
          'data-task-id': t.id,
          'data-layer': layout.layerOf.get(t.id),
          'data-index': layout.indexOf.get(t.id),
          'data-x': at.x,
          'data-y': at.y,
        },
        title,
        svg('rect', {
          class: 'dag-box',
          x: at.x,
          y: at.y,
          width: NODE.nodeWidth,
          height: NODE.nodeHeight,
          rx: 6,
        }),
        label,
        status,
      );
      node.parts = { title, label, status };
      nodeLayer.append(node);
      this.nodes.set(t.id, node);
    }
    const arrow = svg(
      'marker',
      {
        id: 'dag-arrow',
        viewBox: '0 0 10 10',
        refX: 9,
        refY: 5,
        markerWidth: 9,
        markerHeight: 9,
        markerUnits: 'userSpaceOnUse', // the same arrow on a thick (critical) edge
        orient: 'auto-start-reverse',
      },
      svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'dag-arrow' }),
    );
    this.canvas.replaceChildren(svg('defs', {}, arrow), edgeLayer, nodeLayer);
  }

  /** Status colours, labels and the critical path: cheap, on every change. */
  paint(tasks, edges) {
    for (const t of tasks) {
      const node = this.nodes.get(t.id);
      if (!node) continue;
      setAttr(node, 'data-status', t.status);
      setText(node.parts.label, short(t.title || t.id));
      setText(
        node.parts.status,
        t.status === 'blocked' ? `blocked · ${t.blocked_by?.length ?? 0}` : t.status,
      );
      setText(node.parts.title, `${t.id}: ${t.title || ''} (${t.status})`);
      setAttr(node, 'aria-label', `${t.title || t.id}, ${t.status}`);
    }
    const unfinished = (id) => !FINISHED.has(this.tasks.get(id)?.status);
    const path = criticalPath(tasks.map((t) => t.id).sort(), edges, unfinished);
    const onPath = new Set(path);
    const steps = new Set(path.slice(1).map((id, i) => `${path[i]}\u0000${id}`));
    for (const [id, node] of this.nodes)
      setAttr(node, 'data-critical', onPath.has(id) ? 'true' : null);
    for (const { edge, el } of this.edgeEls)
      setAttr(el, 'data-critical', steps.has(`${edge.parent}\u0000${edge.child}`) ? 'true' : null);
    setText(
      this.critical,
      path.length
        ? `Critical path (${path.length} unfinished): ${path.join(' → ')}`
        : 'Every task has ended.',
    );
    const done = tasks.filter((t) => t.status === 'completed').length;
    setText(
      this.summary,
      [
        `${count(tasks.length)} tasks · ${count(edges.length)} edges · ${count(done)} completed`,
        this.outside.size ? `after ${[...this.outside].sort().join(', ')} (outside the plan)` : '',
        this.partial ? `the first ${count(MAX_TASKS)} only` : '',
      ]
        .filter(Boolean)
        .join(' · '),
    );
  }

  update(changes) {
    if (!this.planId) return;
    if (changes.resync) return this.load();
    const applied = changes.events.some(
      (m) => m.type === 'plan:applied' && m.payload?.plan?.id === this.planId,
    );
    if (applied) return this.load();
    let dirty = changes.reset;
    for (const id of changes.tasks) {
      const t = this.store.tasks.get(id);
      if (!t) continue;
      if (t.plan_id === this.planId || this.tasks.has(id)) {
        if (t.plan_id === this.planId) this.tasks.set(id, t);
        else this.tasks.delete(id);
        dirty = true;
      }
    }
    if (dirty) this.render();
  }
}

function shapeKey(tasks, edges) {
  const ids = tasks.map((t) => t.id).sort();
  const lines = edges.map((e) => `${e.parent}>${e.child}:${e.when}`).sort();
  return `${ids.join('\u0000')}|${lines.join('\u0000')}`;
}
