// Raft: roles over time, per-node stable logs side by side (committed vs pending), the leader's view.
import { api, drawTimeline, el, formatMs, startView, timeControl } from "./common.js";

let timeline = null;

function drawLogs(container, raft) {
  container.replaceChildren(...raft.nodes.map((node) => {
    const shown = node.health === "up" ? node.role : node.health;
    const entries = node.entries.slice().reverse().map((entry) =>
      el("div", {
        class: `entry ${entry.committed ? "committed" : "pending"} term-${entry.term % 2 ? "odd" : "even"}`,
        "data-index": entry.index,
        title: `${entry.id} · ${entry.committed ? "committed" : "not committed"}${entry.applied ? ", applied" : ""}`,
      },
      el("span", { class: "ix", text: String(entry.index) }),
      el("span", { class: "tm", text: `t${entry.term}` }),
      el("span", { text: entry.id })));
    return el("div", { class: "log-col", "data-node": node.id },
      el("h3", {}, node.id, el("span", { class: `badge ${shown}`, text: shown.replace("_", "-") })),
      el("div", { class: "meta", text: `term ${node.term} · commit ${node.commit_index} · applied ${node.applied_index}` }),
      el("div", { class: "meta", text: `last ${node.last_index} · snapshot ${node.log_snapshot_index}` }),
      entries.length ? el("div", {}, ...entries) : el("div", { class: "empty", text: "empty log" }));
  }));
}

function drawFollowers(container, raft) {
  if (!raft.leader) {
    container.replaceChildren(el("div", { class: "empty", text: "No leader at this time." }));
    return;
  }
  const header = el("tr", {}, ...["follower", "match", "last index", "lag", "last contact", "health", "link"].map((h) => el("th", { text: h })));
  const rows = raft.followers.map((f) => el("tr", { "data-node": f.id },
    el("td", { text: f.id }),
    el("td", { text: String(f.match_index) }),
    el("td", { text: String(f.last_index) }),
    el("td", { text: String(f.lag), style: f.lag > 20 ? "color: var(--fail)" : "" }),
    el("td", { text: f.last_contact_ms === null ? "none in 5 s" : `${formatMs(f.last_contact_ms)} ago` }),
    el("td", { text: f.health }),
    el("td", { text: f.cut ? "cut" : "ok", style: f.cut ? "color: var(--cut)" : "" })));
  container.replaceChildren(el("table", { class: "data" }, el("thead", {}, header), el("tbody", {}, ...rows)));
}

startView(
  async () => {
    document.getElementById("main").append(
      el("section", { class: "panel" }, el("h2", {}, "Elections and roles over time (click to jump)"), el("div", { id: "timeline" })),
      el("section", { class: "panel" },
        el("h2", {}, "Leader's view of its followers", el("span", { class: "spacer" }), el("span", { id: "leader-pill", class: "pill" })),
        el("div", { id: "followers" })),
      el("section", { class: "panel" },
        el("h2", {}, "Stable logs (newest first)", el("span", { class: "spacer" }),
          el("span", { class: "legend" },
            el("span", { style: "--c:#bfe3cc", text: "committed" }),
            el("span", { style: "--c:#f5d48e", text: "not yet committed" }))),
        el("div", { id: "logs", class: "logs" })));
    timeline = await api("/api/timeline");
  },
  async (context, t) => {
    const raft = await api("/api/raft", { t, limit: 40 });
    if (context.run.mode === "live" && raft.t_ms > timeline.end_ms + 500) timeline = await api("/api/timeline");
    drawTimeline(document.getElementById("timeline"), timeline, t, (ms) => timeControl.set(ms));
    document.getElementById("leader-pill").textContent = raft.leader ? `leader ${raft.leader}` : "no leader";
    drawFollowers(document.getElementById("followers"), raft);
    drawLogs(document.getElementById("logs"), raft);
  },
);
