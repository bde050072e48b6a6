// B+ tree: one node's tree at the slider time, rebuilt from what it applied; recent splits glow.
import { api, attachTooltip, el, formatMs, startView, svg, timeControl } from "./common.js";

const params = new URLSearchParams(location.search);
let current = null;

function changedIds(changes) {
  const ids = new Set();
  for (const change of changes) {
    for (const key of ["tree_node", "new_tree_node", "absorbed", "sibling", "new_root"]) {
      if (change[key] !== undefined) ids.add(change[key]);
    }
  }
  return ids;
}

function drawTree(container, tree) {
  const levels = [];
  const visit = (node, depth) => {
    (levels[depth] ||= []).push(node);
    for (const child of node.children || []) visit(child, depth + 1);
  };
  visit(tree.root, 0);
  const leaves = levels[levels.length - 1];
  const boxWidth = 112;
  const gap = 14;
  const rowHeight = 92;
  const width = Math.max(container.clientWidth || 900, leaves.length * (boxWidth + gap) + 40);
  const height = levels.length * rowHeight + 20;
  const positions = new Map();
  const leafStep = (width - 40) / Math.max(1, leaves.length);
  const place = (node, depth) => {
    if (!node.children || node.children.length === 0) {
      const i = levels[depth].indexOf(node);
      const x = node.kind === "leaf" ? 20 + leafStep * (leaves.indexOf(node) + 0.5) : 20 + ((width - 40) / levels[depth].length) * (i + 0.5);
      positions.set(node, [x, 10 + depth * rowHeight]);
      return x;
    }
    const xs = node.children.map((child) => place(child, depth + 1));
    const x = (Math.min(...xs) + Math.max(...xs)) / 2;
    positions.set(node, [x, 10 + depth * rowHeight]);
    return x;
  };
  place(tree.root, 0);
  const highlight = changedIds(tree.changes);
  const root = svg("svg", { class: "tree", width, height, viewBox: `0 0 ${width} ${height}` });
  for (const [node, [x, y]] of positions) {
    for (const child of node.children || []) {
      const [cx, cy] = positions.get(child);
      root.append(svg("path", { d: `M${x},${y + 44} C${x},${y + 70} ${cx},${cy - 26} ${cx},${cy}`, fill: "none", stroke: "#b9c3cf" }));
    }
  }
  for (const [node, [x, y]] of positions) {
    const hot = highlight.has(node.id);
    const group = svg("g", { "data-tree-node": node.id, "data-kind": node.kind, class: hot ? "changed" : "" });
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
    attachTooltip(group, () => {
      const lines = [`#${node.id} ${node.kind}, fill ${(node.fill * 100).toFixed(0)}%`];
      if (node.kind === "leaf") node.keys.forEach((k, i) => lines.push(`${k} = ${JSON.stringify(node.values[i])}`));
      else lines.push(`separators: ${node.keys.join(", ")}`);
      if (node.elided_children) lines.push(`(${node.elided_children} children not drawn)`);
      return lines.slice(0, 40).join("\n");
    });
    root.append(group);
  }
  container.replaceChildren(root);
}

function drawChanges(container, tree) {
  if (!tree.changes.length) {
    container.replaceChildren(el("div", { class: "muted", text: "No structural change in the last 250 ms." }));
    return;
  }
  container.replaceChildren(el("ul", { class: "changes" }, ...tree.changes.map((c) =>
    el("li", { text: `${formatMs(c.t)}  ${c.kind}  ${c.node_kind ?? ""} #${c.tree_node ?? c.old_root ?? ""}${c.new_tree_node !== undefined ? ` → #${c.new_tree_node}` : ""}${c.separator !== undefined ? ` at ${c.separator}` : ""}${c.reason ? ` (${c.reason})` : ""}` }))));
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
      timeControl.set(timeControl.t);
    });
    document.getElementById("main").append(
      el("section", { class: "panel" },
        el("div", { class: "controls" }, el("label", {}, "node", select), el("span", { id: "tree-stats", class: "muted" }))),
      el("section", { class: "panel" }, el("h2", {}, "Tree", el("span", { class: "spacer" }),
        el("span", { class: "legend" }, el("span", { style: "--c:var(--candidate)", text: "changed in the last 250 ms" }), el("span", { style: "--c:#8fc9a3", text: "fill" }))),
        el("div", { id: "tree", class: "tree-wrap" })),
      el("section", { class: "panel" }, el("h2", {}, "Recent structural changes"), el("div", { id: "changes" })));
  },
  async (context, t) => {
    const tree = await api("/api/btree", { node: current, t });
    document.getElementById("tree-stats").textContent =
      `${tree.size} keys · depth ${tree.depth} · ${tree.node_count} nodes · order ${tree.order} · applied through #${tree.applied_index}`;
    timeControl.setMarkers([
      ...context.run.faults.map((f) => ({ t_ms: f.t_ms, label: f.label, cls: f.kind.split(".").pop() })),
      ...tree.history.filter((h) => h.kind === "btree.split").map((h) => ({ t_ms: h.t_ms, label: `split #${h.tree_node}`, cls: "split" })),
    ]);
    drawTree(document.getElementById("tree"), tree);
    drawChanges(document.getElementById("changes"), tree);
  },
);
