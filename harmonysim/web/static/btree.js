// B+ tree: one node's tree at the slider time, rebuilt from what it applied; recent splits glow.
// Per level: nodes and fill. Splits, merges and borrows over the run. The hottest leaves.
// Click an internal node (or a hot leaf) to open its subtree; the path above it leads back up.
import { api, attachTooltip, el, formatMs, startView, svg, timeControl } from "./common.js";

const params = new URLSearchParams(location.search);
let current = null;
let focus = params.get("subtree") ? Number(params.get("subtree")) : null;
let notice = "";

const RATE_COLOURS = { split: "#2171b5", merge: "#cb181d", borrow: "#fd8d3c" };

function setFocus(id) {
  focus = id;
  notice = "";
  const url = new URL(location.href);
  if (id === null) url.searchParams.delete("subtree");
  else url.searchParams.set("subtree", String(id));
  history.replaceState(null, "", url);
  timeControl.set(timeControl.t);
}

function changedIds(changes) {
  const ids = new Set();
  for (const change of changes) {
    for (const key of ["tree_node", "new_tree_node", "absorbed", "sibling", "new_root"]) {
      if (change[key] !== undefined) ids.add(change[key]);
    }
  }
  return ids;
}

function keyRange(first, last) {
  if (first === null || first === undefined) return "empty";
  return first === last ? String(first) : `${first} … ${last}`;
}

function levelName(level) {
  return level === 0 ? "level 0 (leaves)" : `level ${level}`;
}

function drawTree(container, tree) {
  const levels = [];
  const visit = (node, depth) => {
    (levels[depth] ||= []).push(node);
    for (const child of node.children || []) visit(child, depth + 1);
  };
  visit(tree.root, 0);
  const bottom = levels[levels.length - 1];
  const boxWidth = 112;
  const gap = 14;
  const rowHeight = 92;
  const width = Math.max(container.clientWidth || 900, bottom.length * (boxWidth + gap) + 40);
  const height = levels.length * rowHeight + 20;
  const positions = new Map();
  const step = (width - 40) / Math.max(1, bottom.length);
  const place = (node, depth) => {
    if (!node.children || node.children.length === 0) {
      const x = 20 + step * (bottom.indexOf(node) + 0.5);
      const fallback = 20 + ((width - 40) / levels[depth].length) * (levels[depth].indexOf(node) + 0.5);
      positions.set(node, [depth === levels.length - 1 ? x : fallback, 10 + depth * rowHeight]);
      return positions.get(node)[0];
    }
    const xs = node.children.map((child) => place(child, depth + 1));
    const x = (Math.min(...xs) + Math.max(...xs)) / 2;
    positions.set(node, [x, 10 + depth * rowHeight]);
    return x;
  };
  place(tree.root, 0);
  const highlight = changedIds(tree.changes);
  const root = svg("svg", { class: "tree", width, height, viewBox: `0 0 ${width} ${height}`, "data-focus": tree.focus });
  for (const [node, [x, y]] of positions) {
    for (const child of node.children || []) {
      const [cx, cy] = positions.get(child);
      root.append(svg("path", { d: `M${x},${y + 44} C${x},${y + 70} ${cx},${cy - 26} ${cx},${cy}`, fill: "none", stroke: "#b9c3cf" }));
    }
  }
  for (const [node, [x, y]] of positions) {
    const hot = highlight.has(node.id);
    const opens = node.kind === "internal" && node.id !== tree.focus;
    const group = svg("g", {
      "data-tree-node": node.id, "data-kind": node.kind, "data-hidden-below": node.hidden_below || 0,
      class: `${hot ? "changed" : ""}${opens ? " opens" : ""}`,
    });
    const fillColor = node.kind === "leaf" ? "#e4f3ea" : "#e6eefc";
    group.append(svg("rect", {
      x: x - boxWidth / 2, y, width: boxWidth, height: 44, rx: 6,
      fill: "#fff", stroke: hot ? "var(--candidate)" : "#aab6c4", "stroke-width": hot ? 3 : 1,
    }));
    group.append(svg("rect", { x: x - boxWidth / 2 + 1, y: y + 36, width: (boxWidth - 2) * node.fill, height: 7, fill: node.fill > 0.9 ? "#f0b35a" : "#8fc9a3", rx: 2 }));
    const keys = node.keys;
    const label = keys.length === 0 ? "(empty)" : keys.length <= 2 ? keys.join(" ") : `${keys[0]} … ${keys[keys.length - 1]}`;
    group.append(svg("rect", { x: x - boxWidth / 2 + 1, y: y + 1, width: boxWidth - 2, height: 14, fill: fillColor, rx: 5 }));
    group.append(svg("text", { x, y: y + 12, "text-anchor": "middle", "font-size": 10, fill: "#6b7785", text: `#${node.id} ${node.kind} · ${keys.length} key${keys.length === 1 ? "" : "s"}` }));
    group.append(svg("text", { x, y: y + 30, "text-anchor": "middle", "font-size": 11, "font-family": "monospace", fill: "#1d2733", text: label }));
    if (node.hidden_below) {
      group.append(svg("text", { x, y: y + 58, "text-anchor": "middle", "font-size": 10, fill: "var(--accent)", class: "below", text: `▸ ${node.hidden_below} nodes below` }));
    }
    if (opens) group.addEventListener("click", () => setFocus(node.id));
    attachTooltip(group, () => {
      const lines = [`#${node.id} ${node.kind}, fill ${(node.fill * 100).toFixed(0)}%`];
      if (node.kind === "leaf") node.keys.forEach((k, i) => lines.push(`${k} = ${JSON.stringify(node.values[i])}`));
      else lines.push(`separators: ${node.keys.join(", ")}`);
      if (node.hidden_below) lines.push(`${node.hidden_below} nodes below: click to open`);
      else if (opens) lines.push("click to open this subtree");
      return lines.slice(0, 40).join("\n");
    });
    root.append(group);
  }
  container.replaceChildren(root);
  container.scrollLeft = Math.max(0, (positions.get(tree.root)[0] - container.clientWidth / 2));
}

function drawPath(container, tree) {
  const crumbs = [];
  tree.path.forEach((id, i) => {
    const last = i === tree.path.length - 1;
    const label = i === 0 ? `root #${id}` : `#${id}`;
    if (i > 0) crumbs.push(el("span", { class: "muted", text: " › " }));
    crumbs.push(last
      ? el("strong", { class: "crumb", "data-crumb": id, text: label })
      : el("a", { href: "#", class: "crumb", "data-crumb": id, onclick: (event) => { event.preventDefault(); setFocus(i === 0 ? null : id); }, text: label }));
  });
  const info = tree.path.length > 1 ? ` · subtree of ${tree.drawn_nodes} drawn nodes` : "";
  container.replaceChildren(el("span", { class: "muted", text: "path: " }), ...crumbs,
    el("span", { class: "muted", text: info }));
  if (notice) container.append(el("span", { class: "notice", text: `  ${notice}` }));
}

function splitsBefore(tree) {
  return tree.history.filter((h) => h.t_ms <= tree.t_ms && h.kind !== "btree.root").length;
}

function drawLevels(container, tree) {
  const rows = [...tree.levels].reverse();
  const oneLeaf = tree.levels.length === 1 && tree.levels[0].nodes === 1 && splitsBefore(tree) === 0;
  const table = el("table", { class: "levels" },
    el("thead", {}, el("tr", {}, el("th", { text: "level" }), el("th", { text: "nodes" }), el("th", { text: "entries" }), el("th", { text: "fill" }))),
    el("tbody", {}, ...rows.map((level) => {
      const bar = el("span", { class: "fillbar" }, el("span", { style: `width:${(level.fill * 100).toFixed(1)}%` }));
      return el("tr", { "data-level": level.level },
        el("td", { text: levelName(level.level) }),
        el("td", { class: "num", text: String(level.nodes) }),
        el("td", { class: "num", text: `${level.entries} / ${level.nodes * level.capacity}` }),
        el("td", {}, bar, el("span", { class: "num", text: ` ${(level.fill * 100).toFixed(0)}%` })));
    })));
  container.replaceChildren(table);
  if (oneLeaf) {
    container.prepend(el("div", { class: "one-leaf", text: `one leaf, no splits: all ${tree.size} keys fit in the root leaf (it holds ${tree.leaf_max} at order ${tree.order})` }));
  }
}

function drawRates(container, tree) {
  const { counts, bucket_ms: bucketMs, start_ms: startMs } = tree.rates;
  const kinds = Object.keys(counts);
  const buckets = counts[kinds[0]].length;
  const totals = Object.fromEntries(kinds.map((kind) => [kind, counts[kind].reduce((a, b) => a + b, 0)]));
  if (kinds.every((kind) => totals[kind] === 0)) {
    container.replaceChildren(el("div", { class: "empty", "data-empty": "rates", text: "No splits, merges or borrows in this run: the tree never changed shape." }));
    return;
  }
  const perSecond = 1000 / bucketMs;
  const stacked = [...Array(buckets).keys()].map((i) => kinds.reduce((sum, kind) => sum + counts[kind][i], 0) * perSecond);
  const top = Math.max(1, Math.ceil(Math.max(...stacked)));
  const width = Math.max(container.clientWidth || 600, 300);
  const height = 150;
  const left = 44;
  const plotWidth = width - left - 10;
  const plotHeight = height - 28;
  const chart = svg("svg", { width, height, class: "rates", viewBox: `0 0 ${width} ${height}` });
  const barWidth = plotWidth / buckets;
  for (let i = 0; i < buckets; i++) {
    let base = 0;
    for (const kind of kinds) {
      const value = counts[kind][i] * perSecond;
      if (value > 0) {
        const h = (value / top) * plotHeight;
        chart.append(svg("rect", { x: left + i * barWidth, y: 6 + plotHeight - base - h, width: Math.max(1, barWidth - 1), height: h, fill: RATE_COLOURS[kind], "data-kind": kind, "data-count": counts[kind][i] }));
        base += h;
      }
    }
  }
  chart.append(svg("line", { x1: left, x2: left + plotWidth, y1: 6 + plotHeight, y2: 6 + plotHeight, stroke: "#aab6c4" }));
  chart.append(svg("text", { x: left - 6, y: 10, "text-anchor": "end", "font-size": 10, fill: "#6b7785", text: `${top}/s` }));
  chart.append(svg("text", { x: left - 6, y: 6 + plotHeight, "text-anchor": "end", "font-size": 10, fill: "#6b7785", text: "0" }));
  const end = startMs + bucketMs * buckets;
  chart.append(svg("text", { x: left, y: height - 4, "font-size": 10, fill: "#6b7785", text: formatMs(startMs) }));
  chart.append(svg("text", { x: left + plotWidth, y: height - 4, "text-anchor": "end", "font-size": 10, fill: "#6b7785", text: formatMs(end) }));
  const cursor = left + ((tree.t_ms - startMs) / (end - startMs)) * plotWidth;
  chart.append(svg("line", { x1: cursor, x2: cursor, y1: 4, y2: 6 + plotHeight, stroke: "var(--accent)", "stroke-width": 1.5, class: "now" }));
  const legend = el("div", { class: "legend" }, ...kinds.map((kind) => el("span", { style: `--c:${RATE_COLOURS[kind]}`, text: `${kind}s (${totals[kind]})` })));
  container.replaceChildren(legend, chart);
}

function drawHotLeaves(container, tree) {
  if (!tree.hot_leaves.length) {
    container.replaceChildren(el("div", { class: "empty", text: "No writes reached this tree yet." }));
    return;
  }
  const most = Math.max(1, ...tree.hot_leaves.map((leaf) => leaf.writes));
  container.replaceChildren(el("ul", { class: "hot-leaves" }, ...tree.hot_leaves.map((leaf) => {
    const row = el("li", { "data-leaf": leaf.id, class: leaf.exists ? "" : "gone" },
      el("span", { class: "leaf-id", text: `#${leaf.id}` }),
      el("span", { class: "fillbar hot" }, el("span", { style: `width:${((leaf.writes / most) * 100).toFixed(1)}%` })),
      el("span", { class: "num", text: `${leaf.writes} writes · ${leaf.splits} split${leaf.splits === 1 ? "" : "s"}` }),
      el("span", { class: "muted", text: leaf.exists ? keyRange(leaf.first_key, leaf.last_key) : "merged away" }));
    if (leaf.exists) row.addEventListener("click", () => setFocus(leaf.id));
    return row;
  })));
}

function drawChanges(container, tree) {
  if (!tree.changes.length) {
    container.replaceChildren(el("div", { class: "muted", text: "No structural change in the last 250 ms." }));
    return;
  }
  container.replaceChildren(el("ul", { class: "changes" }, ...tree.changes.map((c) =>
    el("li", { text: `${formatMs(c.t)}  ${c.kind}  ${c.node_kind ?? ""} #${c.tree_node ?? c.old_root ?? ""}${c.new_tree_node !== undefined ? ` → #${c.new_tree_node}` : ""}${c.separator !== undefined ? ` at ${c.separator}` : ""}${c.reason ? ` (${c.reason})` : ""}` }))));
}

async function fetchTree(t) {
  try {
    return await api("/api/btree", { node: current, t, subtree: focus });
  } catch (error) {
    if (focus === null || !String(error.message).startsWith("404")) throw error;
    // The node opened is gone at this time (merged away, or the tree restarted): show the root.
    notice = `#${focus} does not exist at ${formatMs(t)}`;
    focus = null;
    return api("/api/btree", { node: current, t });
  }
}

startView(
  async (context) => {
    current = params.get("node") || context.run.nodes[0];
    const select = el("select", { id: "node-select" }, ...context.run.nodes.map((n) => el("option", { value: n, text: n })));
    select.value = current;
    select.addEventListener("change", () => {
      current = select.value;
      const url = new URL(location.href);
      url.searchParams.set("node", current);
      history.replaceState(null, "", url);
      setFocus(null);
    });
    document.getElementById("main").append(
      el("section", { class: "panel" },
        el("div", { class: "controls" }, el("label", {}, "node", select), el("span", { id: "tree-stats", class: "muted" }))),
      el("div", { class: "grid-2" },
        el("section", { class: "panel" }, el("h2", {}, "Levels"), el("div", { id: "levels" })),
        el("section", { class: "panel" }, el("h2", {}, "Hottest leaves", el("span", { class: "spacer" }), el("span", { class: "legend", text: "writes since the node started; click to open" })), el("div", { id: "hot-leaves" }))),
      el("section", { class: "panel" }, el("h2", {}, "Splits, merges and borrows per second"), el("div", { id: "rates" })),
      el("section", { class: "panel" }, el("h2", {}, "Tree", el("span", { class: "spacer" }),
        el("span", { class: "legend" }, el("span", { style: "--c:var(--candidate)", text: "changed in the last 250 ms" }), el("span", { style: "--c:#8fc9a3", text: "fill" }))),
        el("div", { id: "tree-path", class: "tree-path" }),
        el("div", { id: "tree", class: "tree-wrap" })),
      el("section", { class: "panel" }, el("h2", {}, "Recent structural changes"), el("div", { id: "changes" })));
  },
  async (context, t) => {
    const tree = await fetchTree(t);
    document.getElementById("tree-stats").textContent =
      `${tree.size} keys · depth ${tree.depth} · ${tree.node_count} nodes · order ${tree.order} · applied through #${tree.applied_index}`;
    timeControl.setMarkers([
      ...context.run.faults.map((f) => ({ t_ms: f.t_ms, label: f.label, cls: f.kind.split(".").pop() })),
      ...tree.history.filter((h) => h.kind === "btree.split").map((h) => ({ t_ms: h.t_ms, label: `split #${h.tree_node}`, cls: "split" })),
    ]);
    drawLevels(document.getElementById("levels"), tree);
    drawHotLeaves(document.getElementById("hot-leaves"), tree);
    drawRates(document.getElementById("rates"), tree);
    drawPath(document.getElementById("tree-path"), tree);
    drawTree(document.getElementById("tree"), tree);
    drawChanges(document.getElementById("changes"), tree);
  },
);
