// Where each node card goes on the stage: masters at the top, each replica below its master,
// chains deeper. A pure function of the frame's links (which the engine matched by address) and
// the stage's size in pixels, so the page never works out who replicates from whom.

/** Card sizes in CSS pixels: full cards, and compact ones when a row would not fit. */
export const CARD = Object.freeze({ w: 160, h: 128, compactW: 116, compactH: 100, gapX: 22, gapY: 50, pad: 12 });

/**
 * @param {Array<{index:number}>} nodes the frame's nodes
 * @param {Array<{replica:number, master:number|null}>} links the frame's links
 * @param {number} width the stage's width in px
 * @returns {{cards: Map<number,{x,y,w,h,depth}>, width:number, height:number, compact:boolean}}
 */
export function layout(nodes, links, width) {
  const present = new Set(nodes.map((n) => n.index));
  const parent = new Map();
  for (const l of links) {
    if (l.master !== null && l.master !== undefined && present.has(l.master) && l.master !== l.replica) {
      parent.set(l.replica, l.master);
    }
  }
  breakCycles(parent, nodes);
  const children = new Map(nodes.map((n) => [n.index, []]));
  for (const n of nodes) {
    const p = parent.get(n.index);
    if (p !== undefined) children.get(p).push(n.index);
  }
  const roots = nodes.map((n) => n.index).filter((i) => !parent.has(i));

  // Leaves under each subtree: the width a tree layout needs, in card slots.
  const leaves = new Map();
  const countLeaves = (i) => {
    const kids = children.get(i);
    const n = kids.length === 0 ? 1 : kids.reduce((sum, k) => sum + countLeaves(k), 0);
    leaves.set(i, n);
    return n;
  };
  const total = roots.reduce((sum, r) => sum + countLeaves(r), 0);

  for (const compact of [false, true]) {
    const w = compact ? CARD.compactW : CARD.w;
    const slot = w + CARD.gapX;
    if (total * slot - CARD.gapX + 2 * CARD.pad <= width) {
      return treeLayout(roots, children, leaves, width, compact);
    }
  }
  return rowsLayout(nodes, roots, children, width);
}

/** A replica chain that loops (A → B → A) has no top: cut it at its lowest index. */
function breakCycles(parent, nodes) {
  for (const n of nodes) {
    const seen = new Set();
    let i = n.index;
    while (parent.has(i) && !seen.has(i)) {
      seen.add(i);
      i = parent.get(i);
    }
    if (parent.has(i) && seen.has(i)) {
      // i is on a cycle: find its lowest member and make it a root.
      const cycle = [i];
      for (let j = parent.get(i); j !== i; j = parent.get(j)) cycle.push(j);
      parent.delete(Math.min(...cycle));
    }
  }
}

function size(compact) {
  return compact ? { w: CARD.compactW, h: CARD.compactH } : { w: CARD.w, h: CARD.h };
}

/** Every subtree gets as many slots as it has leaves; a parent sits centred over its children. */
function treeLayout(roots, children, leaves, width, compact) {
  const { w, h } = size(compact);
  const slot = w + CARD.gapX;
  const total = roots.reduce((sum, r) => sum + leaves.get(r), 0);
  const left = (width - (total * slot - CARD.gapX)) / 2;
  const cards = new Map();
  let depthMax = 0;
  const place = (i, firstSlot, depth) => {
    const n = leaves.get(i);
    const center = left + (firstSlot + n / 2) * slot - CARD.gapX / 2;
    cards.set(i, { x: center - w / 2, y: CARD.pad + depth * (h + CARD.gapY), w, h, depth });
    depthMax = Math.max(depthMax, depth);
    let s = firstSlot;
    for (const k of children.get(i)) {
      place(k, s, depth + 1);
      s += leaves.get(k);
    }
  };
  let s = 0;
  for (const r of roots) {
    place(r, s, 0);
    s += leaves.get(r);
  }
  return { cards, width, height: 2 * CARD.pad + (depthMax + 1) * h + depthMax * CARD.gapY, compact };
}

/**
 * Too wide for a tree: one band per depth, each band wrapped into rows of compact cards, nodes
 * in the order of their parents, so siblings stay together.
 */
function rowsLayout(nodes, roots, children, width) {
  const { w, h } = size(true);
  const perRow = Math.max(1, Math.floor((width - 2 * CARD.pad + CARD.gapX) / (w + CARD.gapX)));
  const bands = [];
  let level = roots.slice();
  while (level.length > 0) {
    bands.push(level);
    level = level.flatMap((i) => children.get(i));
  }
  const cards = new Map();
  let y = CARD.pad;
  bands.forEach((band, depth) => {
    for (let start = 0; start < band.length; start += perRow) {
      const row = band.slice(start, start + perRow);
      const rowWidth = row.length * (w + CARD.gapX) - CARD.gapX;
      const left = (width - rowWidth) / 2;
      row.forEach((i, k) => cards.set(i, { x: left + k * (w + CARD.gapX), y, w, h, depth }));
      y += h + CARD.gapY;
    }
  });
  return { cards, width, height: y - CARD.gapY + CARD.pad, compact: true };
}
