// A layered layout of a task graph, pure (no DOM): layers by the longest path from the
// roots, order within a layer by barycenter sweeps (the order with the fewest crossings
// between adjacent layers is kept), coordinates on a grid; and the critical path, the
// longest chain of unfinished tasks.

/**
 * Lays out `ids` (node ids) joined by `edges` ([{parent, child}]; edges naming an unknown
 * node are left out). Returns {layers: [[id]], layerOf: Map, indexOf: Map, crossings}.
 * A cycle (the hub refuses them) does not hang it: the nodes on it go below the rest.
 */
export function layoutDag(ids, edges, { sweeps = 6 } = {}) {
  const known = new Set(ids);
  const parents = new Map(ids.map((id) => [id, []]));
  const children = new Map(ids.map((id) => [id, []]));
  for (const e of edges) {
    if (!known.has(e.parent) || !known.has(e.child) || e.parent === e.child) continue;
    parents.get(e.child).push(e.parent);
    children.get(e.parent).push(e.child);
  }
  const order = topologicalOrder(ids, parents, children);
  const layerOf = new Map();
  for (const id of order) {
    let layer = 0;
    for (const p of parents.get(id))
      if (layerOf.has(p)) layer = Math.max(layer, layerOf.get(p) + 1);
    layerOf.set(id, layer);
  }
  const layers = [];
  for (const id of order) {
    const layer = layerOf.get(id);
    while (layers.length <= layer) layers.push([]);
    layers[layer].push(id);
  }
  const result = reduceCrossings(layers, parents, children, sweeps);
  const indexOf = new Map();
  for (const layer of result.layers)
    layer.forEach((id, i) => {
      indexOf.set(id, i);
    });
  return { layers: result.layers, layerOf, indexOf, crossings: result.crossings };
}

/** Kahn's order (stable: ties keep the order of `ids`); nodes on a cycle come last. */
function topologicalOrder(ids, parents, children) {
  const waiting = new Map(ids.map((id) => [id, parents.get(id).length]));
  const ready = ids.filter((id) => waiting.get(id) === 0);
  const order = [];
  for (let i = 0; i < ready.length; i += 1) {
    const id = ready[i];
    order.push(id);
    for (const c of children.get(id)) {
      const left = waiting.get(c) - 1;
      waiting.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  if (order.length < ids.length) {
    const placed = new Set(order);
    for (const id of ids) if (!placed.has(id)) order.push(id);
  }
  return order;
}

/** Barycenter sweeps, down (by parents) then up (by children); keeps the best order seen. */
function reduceCrossings(layers, parents, children, sweeps) {
  let current = layers.map((l) => l.slice());
  let best = current.map((l) => l.slice());
  let fewest = countLayerCrossings(best, children);
  for (let s = 0; s < sweeps && fewest > 0; s += 1) {
    const down = s % 2 === 0;
    const position = positions(current);
    const layerOf = new Map();
    current.forEach((layer, i) => {
      for (const id of layer) layerOf.set(id, i);
    });
    const range = down ? range1(1, current.length) : range1(current.length - 2, -1);
    for (const i of range) {
      const neighbours = down ? parents : children;
      const beside = down ? i - 1 : i + 1;
      const layer = current[i];
      const key = new Map();
      layer.forEach((id, index) => {
        // The neighbours in the adjacent layer decide; failing those, any neighbour's
        // relative place in its own layer, scaled to this one.
        const near = neighbours.get(id).filter((n) => layerOf.get(n) === beside);
        if (near.length) {
          key.set(id, near.reduce((sum, n) => sum + position.get(n), 0) / near.length);
          return;
        }
        const far = neighbours.get(id);
        if (!far.length) {
          key.set(id, index);
          return;
        }
        const share = (n) => (position.get(n) + 0.5) / current[layerOf.get(n)].length;
        key.set(id, (far.reduce((sum, n) => sum + share(n), 0) / far.length) * layer.length - 0.5);
      });
      const indexOf = new Map(layer.map((id, index) => [id, index]));
      layer.sort((a, b) => key.get(a) - key.get(b) || indexOf.get(a) - indexOf.get(b));
      layer.forEach((id, index) => {
        position.set(id, index);
      });
    }
    const crossings = countLayerCrossings(current, children);
    if (crossings < fewest) {
      fewest = crossings;
      best = current.map((l) => l.slice());
    }
  }
  current = best;
  return { layers: current, crossings: fewest };
}

function range1(from, to) {
  const out = [];
  if (from <= to) for (let i = from; i < to; i += 1) out.push(i);
  else for (let i = from; i > to; i -= 1) out.push(i);
  return out;
}

function positions(layers) {
  const at = new Map();
  for (const layer of layers)
    layer.forEach((id, i) => {
      at.set(id, i);
    });
  return at;
}

/**
 * Crossings between edges whose ends are in adjacent layers (an edge that skips layers is
 * drawn as a curve and not counted).
 */
function countLayerCrossings(layers, children) {
  const at = positions(layers);
  const layerOf = new Map();
  layers.forEach((layer, i) => {
    for (const id of layer) layerOf.set(id, i);
  });
  let total = 0;
  for (let i = 0; i + 1 < layers.length; i += 1) {
    const pairs = [];
    for (const id of layers[i])
      for (const c of children.get(id))
        if (layerOf.get(c) === i + 1) pairs.push([at.get(id), at.get(c)]);
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let a = 0; a < pairs.length; a += 1)
      for (let b = a + 1; b < pairs.length; b += 1)
        if (pairs[a][0] < pairs[b][0] && pairs[a][1] > pairs[b][1]) total += 1;
  }
  return total;
}

/** Crossings of a layout's edges between adjacent layers (for tests and the page's summary). */
export function crossingsOf(layout, edges) {
  const children = new Map();
  for (const layer of layout.layers) for (const id of layer) children.set(id, []);
  for (const e of edges)
    if (children.has(e.parent) && children.has(e.child)) children.get(e.parent).push(e.child);
  return countLayerCrossings(layout.layers, children);
}

/**
 * Coordinates of each node's top-left corner: layers top to bottom, each layer centred.
 * Returns {at: Map(id -> {x, y}), width, height}.
 */
export function placeNodes(
  layout,
  { nodeWidth = 160, nodeHeight = 44, gapX = 24, gapY = 56, margin = 16 } = {},
) {
  const widest = Math.max(0, ...layout.layers.map((l) => l.length));
  const width = Math.max(1, widest) * (nodeWidth + gapX) - gapX + 2 * margin;
  const height = Math.max(1, layout.layers.length) * (nodeHeight + gapY) - gapY + 2 * margin;
  const at = new Map();
  layout.layers.forEach((layer, i) => {
    const span = layer.length * (nodeWidth + gapX) - gapX;
    const left = margin + (width - 2 * margin - span) / 2;
    layer.forEach((id, j) => {
      at.set(id, { x: left + j * (nodeWidth + gapX), y: margin + i * (nodeHeight + gapY) });
    });
  });
  return { at, width, height, nodeWidth, nodeHeight };
}

/**
 * The longest chain (by number of tasks) of tasks for which `unfinished(id)` holds, joined by
 * edges between unfinished tasks. Returns the ids in order, parent first ([] when none).
 * Ties go to the chain met first in `ids` order.
 */
export function criticalPath(ids, edges, unfinished) {
  const open = ids.filter((id) => unfinished(id));
  const openSet = new Set(open);
  const parents = new Map(open.map((id) => [id, []]));
  const children = new Map(open.map((id) => [id, []]));
  for (const e of edges) {
    if (!openSet.has(e.parent) || !openSet.has(e.child) || e.parent === e.child) continue;
    parents.get(e.child).push(e.parent);
    children.get(e.parent).push(e.child);
  }
  const order = topologicalOrder(open, parents, children);
  const length = new Map();
  const previous = new Map();
  let end = null;
  for (const id of order) {
    let best = 0;
    let from = null;
    for (const p of parents.get(id)) {
      const l = length.get(p) ?? 0;
      if (l > best) {
        best = l;
        from = p;
      }
    }
    length.set(id, best + 1);
    previous.set(id, from);
    if (end === null || best + 1 > length.get(end)) end = id;
  }
  const path = [];
  const seen = new Set();
  for (let id = end; id !== null && !seen.has(id); id = previous.get(id)) {
    seen.add(id);
    path.push(id);
  }
  return path.reverse();
}
