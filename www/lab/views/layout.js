// Where each node card goes on the stage: masters at the top, each replica below its master,
// chains deeper. A pure function of the frame's links (which the engine matched by address) and
// the stage's size in pixels, so the page never works out who replicates from whom.
//
// The largest cards that let the whole tree fit the stage are used: full cards, compact ones
// (no address line), or mini ones (no timer line either; the inspector has it). A tree too deep
// for a short stage (a chain in a lab embedded 300 px high) is laid sideways, masters on the
// left. When even mini cards are too many for one row, each level wraps into rows.

/** Card sizes in CSS pixels, largest first; the gaps between cards side by side and around. */
export const SIZES = Object.freeze([
  Object.freeze({ name: 'full', w: 160, h: 128, gapY: 50 }),
  Object.freeze({ name: 'compact', w: 124, h: 108, gapY: 34 }),
  Object.freeze({ name: 'mini', w: 124, h: 84, gapY: 28 }),
]);
export const GAP_X = 18;
/** The most room between two levels of a tree on a tall stage. */
export const MAX_GAP_Y = 110;
export const PAD = 12;
/**
 * Sideways trees: room between levels for the link's label (its latency, or a state such as
 * wait_bgsave_start), at least and at most; and between siblings.
 */
export const SIDE_GAP_X = 64;
export const SIDE_GAP_X_MAX = 150;
export const SIDE_GAP_Y = 12;

/**
 * @param {Array<{index:number}>} nodes the frame's nodes
 * @param {Array<{replica:number, master:number|null}>} links the frame's links
 * @param {number} width the stage's width in px
 * @param {number} [height] the stage's height in px
 * @returns {{cards: Map<number,{x,y,w,h,depth}>, width:number, height:number, size:string,
 *   direction:'down'|'right'}} `direction`: where replicas sit from their master
 */
export function layout(nodes, links, width, height = Infinity) {
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

  const wide = SIZES.filter((size) => total * (size.w + GAP_X) - GAP_X + 2 * PAD <= width);
  for (const size of wide) {
    const tree = treeLayout(roots, children, leaves, width, size, height);
    if (tree.height <= height) return tree;
  }
  for (const size of SIZES) {
    const tree = sidewaysLayout(roots, children, leaves, width, height, size);
    if (tree) return tree;
  }
  if (wide.length > 0) return treeLayout(roots, children, leaves, width, wide[wide.length - 1]);
  return rowsLayout(roots, children, width, SIZES[1]);
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
      const cycle = [i];
      for (let j = parent.get(i); j !== i; j = parent.get(j)) cycle.push(j);
      parent.delete(Math.min(...cycle));
    }
  }
}

/** How many levels the forest has (a master alone: 1). */
function levelsOf(roots, children) {
  const depthOf = (i) => 1 + Math.max(0, ...children.get(i).map(depthOf));
  return Math.max(0, ...roots.map(depthOf));
}

/**
 * Walks the forest giving every subtree as many slots as it has leaves, in order:
 * `visit(node, middleSlot, depth)` gets the middle of the node's slots (so a parent is centred
 * on its children). Returns the deepest depth.
 */
function walkSlots(roots, children, leaves, visit) {
  let depthMax = 0;
  const place = (i, firstSlot, depth) => {
    visit(i, firstSlot + leaves.get(i) / 2, depth);
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
  return depthMax;
}

/**
 * Masters on top, each subtree as wide as its leaves. Levels are spread over a tall stage (up
 * to MAX_GAP_Y apart), so that links are long enough to watch messages travel on them.
 */
function treeLayout(roots, children, leaves, width, size, height = Infinity) {
  const { w, h } = size;
  const levels = levelsOf(roots, children);
  const spare = levels > 1 && Number.isFinite(height) ? (height - 2 * PAD - levels * h) / (levels - 1) : 0;
  const gapY = Math.min(MAX_GAP_Y, Math.max(size.gapY, spare));
  const slot = w + GAP_X;
  const total = roots.reduce((sum, r) => sum + leaves.get(r), 0);
  const left = (width - (total * slot - GAP_X)) / 2;
  const cards = new Map();
  const depthMax = walkSlots(roots, children, leaves, (i, middle, depth) => {
    const center = left + middle * slot - GAP_X / 2;
    cards.set(i, { x: center - w / 2, y: PAD + depth * (h + gapY), w, h, depth });
  });
  return { cards, width, height: 2 * PAD + (depthMax + 1) * h + depthMax * gapY, size: size.name, direction: 'down' };
}

/** The tree turned a quarter: levels from left to right, siblings one above the other. Null when it does not fit. */
function sidewaysLayout(roots, children, leaves, width, height, size) {
  const { w, h } = size;
  const levels = levelsOf(roots, children);
  const total = roots.reduce((sum, r) => sum + leaves.get(r), 0);
  const spare = levels > 1 ? (width - 2 * PAD - levels * w) / (levels - 1) : 0;
  const gapX = Math.min(SIDE_GAP_X_MAX, Math.max(SIDE_GAP_X, spare));
  const needW = 2 * PAD + levels * w + (levels - 1) * gapX;
  const needH = 2 * PAD + total * h + (total - 1) * SIDE_GAP_Y;
  if (needW > width || needH > height) return null;
  const left = (width - needW) / 2 + PAD;
  const slot = h + SIDE_GAP_Y;
  const cards = new Map();
  walkSlots(roots, children, leaves, (i, middle, depth) => {
    const y = PAD + middle * slot - SIDE_GAP_Y / 2;
    cards.set(i, { x: left + depth * (w + gapX), y: y - h / 2, w, h, depth });
  });
  return { cards, width, height: needH, size: size.name, direction: 'right' };
}

/**
 * Too wide for a tree: one band per depth, each band wrapped into rows, nodes in the order of
 * their parents, so siblings stay together.
 */
function rowsLayout(roots, children, width, size) {
  const { w, h, gapY } = size;
  const perRow = Math.max(1, Math.floor((width - 2 * PAD + GAP_X) / (w + GAP_X)));
  const bands = [];
  let level = roots.slice();
  while (level.length > 0) {
    bands.push(level);
    level = level.flatMap((i) => children.get(i));
  }
  const cards = new Map();
  let y = PAD;
  bands.forEach((band, depth) => {
    for (let start = 0; start < band.length; start += perRow) {
      const row = band.slice(start, start + perRow);
      const rowWidth = row.length * (w + GAP_X) - GAP_X;
      const left = (width - rowWidth) / 2;
      row.forEach((i, k) => cards.set(i, { x: left + k * (w + GAP_X), y, w, h, depth }));
      y += h + gapY;
    }
  });
  return { cards, width, height: y - gapY + PAD, size: size.name, direction: 'down' };
}
