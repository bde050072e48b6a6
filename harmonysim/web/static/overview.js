// Overview: node cards, the topology with cut links and messages in flight, roles over time.
import { api, attachTooltip, drawTimeline, el, formatMs, startView, svg, timeControl } from "./common.js";

const MESSAGE_COLORS = {
  AppendEntries: "#3b6fd8",
  AppendEntriesResponse: "#7aa0e8",
  RequestVote: "#e0962b",
  RequestVoteResponse: "#efc07a",
  InstallSnapshot: "#a77fd1",
};

function layout(main) {
  const topo = el("div", { id: "topology" });
  const cards = el("div", { id: "cards", class: "cards" });
  const summary = el("dl", { id: "summary", class: "kv" });
  const timeline = el("div", { id: "timeline" });
  main.append(
    el("div", { class: "grid-2" },
      el("section", { class: "panel" },
        el("h2", {}, "Topology", el("span", { class: "spacer" }),
          el("span", { class: "legend" },
            el("span", { style: "--c:#b9c3cf", text: "link" }),
            el("span", { style: "--c:var(--cut)", text: "cut" }),
            el("span", { style: "--c:var(--clog)", text: "clogged" }),
            el("span", { style: "--c:#3b6fd8", text: "AppendEntries" }),
            el("span", { style: "--c:#e0962b", text: "RequestVote" }))),
        topo),
      el("section", { class: "panel" },
        el("h2", {}, "Nodes", el("span", { class: "spacer" }), el("span", { id: "leader-pill", class: "pill" })),
        cards,
        el("h2", { style: "margin-top:16px" }, "Run"),
        summary)),
    el("section", { class: "panel" }, el("h2", {}, "Roles over time (click to jump)"), timeline),
  );
}

function drawTopology(container, state, network) {
  const width = container.clientWidth || 520;
  const height = 380;
  const nodes = state.nodes;
  const cx = width / 2;
  const cy = height / 2;
  const radius = Math.min(width, height) / 2 - 52;
  const position = {};
  nodes.forEach((node, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / nodes.length;
    position[node.id] = [cx + radius * Math.cos(angle), cy + radius * Math.sin(angle)];
  });
  const cut = new Set(state.cut.map(([a, b]) => `${a}>${b}`));
  const clogged = new Set(state.clogged.map(([a, b]) => `${a}>${b}`));
  const traffic = {};
  for (const link of network.links) {
    const key = [link.src, link.dst].sort().join("-");
    traffic[key] = (traffic[key] || 0) + link.sent;
  }
  const root = svg("svg", { class: "topology", viewBox: `0 0 ${width} ${height}` });
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i].id;
      const b = nodes[j].id;
      const [x1, y1] = position[a];
      const [x2, y2] = position[b];
      const cutCount = (cut.has(`${a}>${b}`) ? 1 : 0) + (cut.has(`${b}>${a}`) ? 1 : 0);
      const clogCount = (clogged.has(`${a}>${b}`) ? 1 : 0) + (clogged.has(`${b}>${a}`) ? 1 : 0);
      const linkState = cutCount === 2 ? "cut" : cutCount === 1 ? "one-way" : clogCount ? "clogged" : "ok";
      const volume = traffic[`${a}-${b}`] || 0;
      const line = svg("line", {
        x1, y1, x2, y2,
        "data-link": `${a}-${b}`,
        "data-state": linkState,
        stroke: linkState === "ok" ? "#b9c3cf" : linkState === "clogged" ? "var(--clog)" : "var(--cut)",
        "stroke-width": linkState === "ok" ? 1.2 + Math.min(4, volume / 6) : 2.2,
        "stroke-dasharray": linkState === "ok" ? null : linkState === "one-way" ? "10 4" : "5 5",
      });
      attachTooltip(line, `${a} ↔ ${b}: ${linkState}\n${volume} message(s) in the last ${network.window_ms} ms`);
      root.append(line);
      if (linkState === "cut" || linkState === "one-way") {
        const mx = (x1 + x2) / 2;
        const my = (y1 + y2) / 2;
        root.append(svg("text", {
          x: mx, y: my + 5, "text-anchor": "middle", "font-size": 16, "font-weight": 700,
          fill: "var(--cut)", text: "✕", class: "cut-mark",
        }));
      }
    }
  }
  for (const message of network.in_flight) {
    const from = position[message.src];
    const to = position[message.dst];
    if (!from || !to) continue;
    const x = from[0] + (to[0] - from[0]) * message.progress;
    const y = from[1] + (to[1] - from[1]) * message.progress;
    const dot = svg("circle", {
      cx: x, cy: y, r: 3.6, class: "message",
      fill: message.fate === "drop" ? "var(--cut)" : MESSAGE_COLORS[message.type] || "#6b7785",
      stroke: "#fff", "stroke-width": 1,
    });
    attachTooltip(dot, `${message.type} #${message.id}\n${message.src} → ${message.dst} (${message.fate})`);
    root.append(dot);
  }
  for (const node of nodes) {
    const [x, y] = position[node.id];
    const role = node.health === "up" ? node.role : node.health;
    const group = svg("g", { "data-node": node.id, "data-role": node.role, "data-health": node.health, class: "node" });
    if (node.id === state.leader) {
      group.append(svg("circle", { cx: x, cy: y, r: 33, fill: "none", stroke: "var(--leader)", "stroke-width": 2, "stroke-dasharray": "3 3" }));
    }
    group.append(svg("circle", { cx: x, cy: y, r: 26, fill: `var(--${role})`, stroke: "#fff", "stroke-width": 3 }));
    group.append(svg("text", { x, y: y + 1, "text-anchor": "middle", "font-size": 14, "font-weight": 700, fill: "#fff", text: node.id }));
    group.append(svg("text", { x, y: y + 14, "text-anchor": "middle", "font-size": 9, fill: "#fff", text: `t${node.term}` }));
    const labelY = y + (y > cy ? 46 : -38);
    group.append(svg("text", { x, y: labelY, "text-anchor": "middle", "font-size": 11, fill: "#6b7785", text: `${role.replace("_", "-")} · c${node.commit_index}` }));
    attachTooltip(group, `${node.id}: ${role}, term ${node.term}\ncommit ${node.commit_index}, applied ${node.applied_index}, last ${node.last_index}`);
    root.append(group);
  }
  container.replaceChildren(root);
}

// The faults in effect on a server, as the fold has them at `t` (rows only when some is).
function faultRows(node, state) {
  const rows = [];
  const clock = [];
  if (node.clock_rate !== null && node.clock_rate !== undefined) clock.push(`rate ×${Number(node.clock_rate.toPrecision(4))}`);
  if (node.clock_step_ms) clock.push(`stepped ${node.clock_step_ms > 0 ? "+" : ""}${node.clock_step_ms} ms`);
  if (node.clock_strobe) clock.push("strobing");
  if (clock.length) rows.push(["clock", clock.join(", ")]);
  const disk = [];
  if (node.disk_slow_ms !== null && node.disk_slow_ms !== undefined) disk.push(`slow (fsync ${node.disk_slow_ms} ms)`);
  if (node.halted) disk.push("halted (damaged)");
  if (disk.length) rows.push(["disk", disk.join(", ")]);
  if (state.members && !state.members.includes(node.id)) rows.push(["member", "no (outside the configuration)"]);
  if (state.transfer_from === node.id) rows.push(["transfer", "handing leadership over"]);
  return rows.flatMap(([name, value]) => [
    el("dt", { text: name }), el("dd", { text: value, class: "fault-state", "data-field": name }),
  ]);
}

function drawCards(container, state) {
  container.replaceChildren(...state.nodes.map((node) => {
    const shown = node.health === "up" ? node.role : node.health;
    return el("div", { class: `card ${shown}`, "data-node": node.id },
      el("div", { class: "name" }, node.id,
        el("span", { class: `badge ${shown}`, "data-role": shown, text: shown.replace("_", "-") })),
      el("dl", {},
        el("dt", { text: "term" }), el("dd", { text: String(node.term) }),
        el("dt", { text: "commit" }), el("dd", { text: String(node.commit_index) }),
        el("dt", { text: "applied" }), el("dd", { text: String(node.applied_index) }),
        el("dt", { text: "last index" }), el("dd", { text: String(node.last_index) }),
        el("dt", { text: "leader" }), el("dd", { text: node.leader ?? "–" }),
        el("dt", { text: "health" }), el("dd", { text: node.health }),
        ...faultRows(node, state)));
  }));
}

function drawSummary(container, run) {
  const rows = [
    ["scenario", run.name], ["seed", run.seed], ["mode", run.mode],
    ["virtual time", formatMs(run.end_ms)], ["events", run.event_count.toLocaleString()],
  ];
  const s = run.summary || {};
  if (s.ops_ok !== undefined) rows.push(["ops ok / fail / info", `${s.ops_ok} / ${s.ops_fail} / ${s.ops_info}`]);
  if (s.latency_p50_ms !== undefined) rows.push(["latency p50 / p99", `${s.latency_p50_ms} / ${s.latency_p99_ms} ms`]);
  if (s.elections !== undefined) rows.push(["elections / leader changes", `${s.elections} / ${s.leader_changes}`]);
  for (const [name, check] of Object.entries(run.checks || {})) rows.push([`check ${name}`, check.status]);
  container.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v ?? "–") })]));
}

let timeline = null;

startView(
  async (context) => {
    layout(document.getElementById("main"));
    drawSummary(document.getElementById("summary"), context.run);
    timeline = await api("/api/timeline");
  },
  async (context, t) => {
    const [state, network] = await Promise.all([api("/api/state", { t }), api("/api/network", { t })]);
    if (context.run.mode === "live" && state.end_ms > timeline.end_ms + 500) {
      timeline = await api("/api/timeline");
    }
    drawTopology(document.getElementById("topology"), state, network);
    drawCards(document.getElementById("cards"), state);
    document.getElementById("leader-pill").textContent = state.leader ? `leader ${state.leader}` : "no leader";
    drawTimeline(document.getElementById("timeline"), timeline, t, (ms) => timeControl.set(ms));
  },
);
