// History: client operations per client on a time axis around the slider; failed checks flagged.
import { api, attachTooltip, el, formatMs, showBanner, startView, svg, timeControl } from "./common.js";

let spanMs = 2000;
const COLORS = { ok: "var(--ok)", fail: "var(--fail)", info: "var(--info)", pending: "var(--pending)" };

function drawChecks(container, checks) {
  if (!checks.length) {
    container.replaceChildren(el("div", { class: "muted", text: "This run recorded no check results." }));
    return;
  }
  container.replaceChildren(...checks.map((check) => el("div", { class: "controls", "data-check": check.name },
    el("span", { class: `badge ${check.status}`, text: check.status }), el("strong", { text: check.name }),
    el("span", { class: "muted", text: check.summary }),
    check.cited.length ? el("span", { class: "pill", text: `cites ${check.cited.length} history line(s)` }) : null)));
  const failed = checks.filter((c) => c.status === "violation");
  if (failed.length) showBanner(`Failed checks: ${failed.map((c) => c.name).join(", ")} — flagged operations are outlined in red.`);
}

function drawLanes(container, history, t0, t1, t) {
  const width = container.clientWidth || 900;
  const left = 50;
  const lane = 24;
  const clients = history.clients;
  const height = clients.length * lane + 30;
  const x = (ms) => left + ((ms - t0) / (t1 - t0)) * (width - left - 10);
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "lanes" });
  for (let i = 0; i <= 8; i++) {
    const ms = t0 + ((t1 - t0) * i) / 8;
    root.append(svg("line", { x1: x(ms), x2: x(ms), y1: 0, y2: height - 22, stroke: "#eef1f5" }));
    root.append(svg("text", { x: x(ms), y: height - 8, "font-size": 10, fill: "#6b7785", "text-anchor": "middle", text: formatMs(ms) }));
  }
  clients.forEach((client, row) => {
    root.append(svg("text", { x: 6, y: row * lane + 16, "font-size": 12, fill: "#6b7785", text: client }));
  });
  const rowOf = Object.fromEntries(clients.map((c, i) => [c, i]));
  for (const op of history.ops) {
    const y = rowOf[op.client] * lane + 4;
    const end = op.end_ms ?? history.end_ms;
    const bar = svg("rect", {
      x: Math.max(left, x(op.start_ms)), y, height: lane - 8, rx: 3,
      width: Math.max(2, Math.min(x(end), width - 10) - Math.max(left, x(op.start_ms))),
      fill: COLORS[op.outcome], opacity: 0.85, class: `op ${op.outcome}${op.flagged ? " flagged" : ""}`,
      stroke: op.flagged ? "#8a1f1f" : "none", "stroke-width": op.flagged ? 2.5 : 0,
      "data-trace": op.trace_id,
    });
    attachTooltip(bar, `${op.trace_id}  ${op.f} ${op.key} ${JSON.stringify(op.value)}\n${op.outcome} → ${JSON.stringify(op.result)}\n${formatMs(op.start_ms)} +${formatMs(op.latency_ms)}${op.flagged ? "\ncited by a failed check" : ""}`);
    bar.addEventListener("click", () => { location.href = `/traces?${new URLSearchParams({ ...(new URLSearchParams(location.search).has("run") ? { run: new URLSearchParams(location.search).get("run") } : {}), trace: op.trace_id, t: Math.floor(op.start_ms) })}`; });
    bar.style.cursor = "pointer";
    root.append(bar);
  }
  root.append(svg("line", { x1: x(t), x2: x(t), y1: 0, y2: height - 22, stroke: "#18212c", "stroke-width": 1.5 }));
  container.replaceChildren(root);
}

startView(
  async () => {
    const zoom = el("select", { id: "zoom" }, ...[[500, "0.5 s"], [2000, "2 s"], [10000, "10 s"], [60000, "1 min"]].map(([v, l]) => el("option", { value: v, text: l })));
    zoom.value = String(spanMs);
    zoom.addEventListener("change", () => { spanMs = Number(zoom.value); timeControl.set(timeControl.t); });
    document.getElementById("main").append(
      el("section", { class: "panel" }, el("h2", {}, "Checks"), el("div", { id: "checks" })),
      el("section", { class: "panel" }, el("h2", {}, "Operations per client", el("span", { class: "spacer" }),
        el("span", { class: "legend" }, ...Object.entries(COLORS).map(([k, c]) => el("span", { style: `--c:${c}`, text: k })))),
        el("div", { class: "controls" }, el("label", {}, "window", zoom), el("span", { id: "op-count", class: "muted" })),
        el("div", { id: "lanes" })));
  },
  async (context, t) => {
    const t0 = Math.max(0, t - spanMs / 2);
    const t1 = t0 + spanMs;
    const history = await api("/api/history", { t0, t1 });
    drawChecks(document.getElementById("checks"), history.checks);
    document.getElementById("op-count").textContent = `${history.total} operation(s) in ${formatMs(t0)} – ${formatMs(t1)}`;
    drawLanes(document.getElementById("lanes"), history, t0, t1, t);
  },
);
