// Traces: a filtered list of traces from the slider time on, and one trace as a waterfall.
import { api, attachTooltip, el, formatMs, startView, svg } from "./common.js";

const PAGE = 50;
let selected = new URLSearchParams(location.search).get("trace");
let filters = { node: "", name: "", status: "", min_duration_ms: "" };
let offset = 0;
let lastT = 0;

const CATEGORY_COLORS = { client: "#3b6fd8", network: "#7aa0e8", raft: "#2e9d5b", btree: "#e0962b" };

function filterBar(run) {
  const node = el("select", { id: "f-node" }, el("option", { value: "", text: "any" }), ...run.clients.map((c) => el("option", { value: c, text: c })));
  const name = el("input", { id: "f-name", placeholder: "put, get k0001…", size: 14 });
  const status = el("select", { id: "f-status" }, ...["", "ok", "fail", "info", "pending"].map((s) => el("option", { value: s, text: s || "any" })));
  const slow = el("input", { id: "f-min", type: "number", min: 0, step: 1, placeholder: "ms", style: "width: 6em" });
  const apply = () => {
    filters = { node: node.value, name: name.value, status: status.value, min_duration_ms: slow.value };
    offset = 0;
    refreshList();
  };
  for (const input of [node, status]) input.addEventListener("change", apply);
  for (const input of [name, slow]) input.addEventListener("change", apply);
  return el("div", { class: "controls" },
    el("label", {}, "client", node), el("label", {}, "name", name), el("label", {}, "status", status),
    el("label", {}, "slower than", slow),
    el("button", { class: "btn", text: "◀", onclick: () => { offset = Math.max(0, offset - PAGE); refreshList(); } }),
    el("button", { class: "btn", text: "▶", onclick: () => { offset += PAGE; refreshList(); } }),
    el("span", { id: "list-count", class: "muted" }));
}

async function refreshList() {
  const list = await api("/api/traces", { ...filters, t0: lastT, offset, limit: PAGE });
  document.getElementById("list-count").textContent =
    `${list.total.toLocaleString()} trace(s) from ${formatMs(lastT)} · ${list.source} · showing ${list.items.length ? offset + 1 : 0}–${offset + list.items.length}`;
  const header = el("tr", {}, ...["trace", "name", "client", "start", "duration", "status"].map((h) => el("th", { text: h })));
  const rows = list.items.map((item) => el("tr", {
    class: `clickable${item.trace_id === selected ? " selected" : ""}`,
    "data-trace": item.trace_id,
    onclick: () => { selected = item.trace_id; showTrace(); refreshList(); },
  },
  el("td", { text: item.trace_id }), el("td", { text: item.name }), el("td", { text: item.node }),
  el("td", { text: formatMs(item.start_ms) }), el("td", { text: formatMs(item.duration_ms) }),
  el("td", {}, el("span", { class: `badge ${item.status}`, text: item.status }))));
  document.getElementById("trace-list").replaceChildren(
    rows.length ? el("table", { class: "data" }, el("thead", {}, header), el("tbody", {}, ...rows)) : el("div", { class: "empty", text: "No trace matches." }));
  if (!selected && list.items.length) { selected = list.items[0].trace_id; showTrace(); }
}

async function showTrace() {
  const box = document.getElementById("waterfall");
  if (!selected) { box.replaceChildren(el("div", { class: "empty", text: "Pick a trace." })); return; }
  const url = new URL(location.href);
  url.searchParams.set("trace", selected);
  history.replaceState(null, "", url);
  const trace = await api(`/api/traces/${encodeURIComponent(selected)}`);
  const spans = trace.spans;
  const start = Math.min(...spans.map((s) => s.start_ms));
  const end = Math.max(...spans.map((s) => s.end_ms), start + 1);
  const width = box.clientWidth || 900;
  const left = 250;
  const row = 22;
  const height = spans.length * row + 30;
  const x = (ms) => left + ((ms - start) / (end - start)) * (width - left - 20);
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "waterfall" });
  for (let i = 0; i <= 5; i++) {
    const ms = start + ((end - start) * i) / 5;
    root.append(svg("line", { x1: x(ms), x2: x(ms), y1: 0, y2: height - 20, stroke: "#eef1f5" }));
    root.append(svg("text", { x: x(ms), y: height - 6, "font-size": 10, fill: "#6b7785", "text-anchor": "middle", text: `+${formatMs(ms - start)}` }));
  }
  spans.forEach((span, i) => {
    const y = i * row + 4;
    const color = span.status.startsWith("dropped") || span.status === "fail" || span.status === "error" || span.status === "lost" ? "var(--fail)" : CATEGORY_COLORS[span.category] || "#6b7785";
    root.append(svg("text", { x: 6, y: y + 13, "font-size": 11, fill: "#6b7785", text: span.node }));
    root.append(svg("text", { x: 40, y: y + 13, "font-size": 11, fill: "#1d2733", text: span.name.slice(0, 34) }));
    const shape = span.end_ms > span.start_ms
      ? svg("rect", { x: x(span.start_ms), y: y + 2, width: Math.max(2, x(span.end_ms) - x(span.start_ms)), height: row - 8, rx: 3, fill: color, class: "span" })
      : svg("path", { d: `M${x(span.start_ms)},${y + 2} l6,7 l-6,7 l-6,-7 z`, fill: color, class: "span" });
    attachTooltip(shape, `${span.name} on ${span.node}\n${formatMs(span.start_ms)} +${formatMs(span.duration_ms)}\nstatus ${span.status}\n${JSON.stringify(span.attributes)}`);
    root.append(shape);
  });
  box.replaceChildren(el("div", { class: "muted", style: "margin-bottom: 6px", text: `${trace.trace_id}: ${spans.length} span(s) on ${trace.nodes.join(", ")}` }), root);
}

startView(
  async (context) => {
    document.getElementById("main").append(
      el("section", { class: "panel" }, el("h2", {}, "Traces"), filterBar(context.run), el("div", { id: "trace-list", style: "max-height: 40vh; overflow: auto; margin-top: 10px" })),
      el("section", { class: "panel" }, el("h2", {}, "Waterfall", el("span", { class: "spacer" }),
        el("span", { class: "legend" }, ...Object.entries(CATEGORY_COLORS).map(([k, c]) => el("span", { style: `--c:${c}`, text: k })))),
        el("div", { id: "waterfall" })));
    if (selected) await showTrace();
  },
  async (context, t) => { lastT = t; offset = 0; await refreshList(); },
);
