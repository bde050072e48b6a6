// Shared by every view: API access, the run picker, the time control, SVG helpers.
// The time control owns virtual time `t` (ms): slider, play / pause, speed, follow-live.
// Views register `onTime(t)`; it is called at most once per animation frame.

export const SVG_NS = "http://www.w3.org/2000/svg";
const params = new URLSearchParams(location.search);
export const runId = params.get("run");

export async function api(path, query = {}) {
  const url = new URL(path, location.origin);
  if (runId) url.searchParams.set("run", runId);
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
  }
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms >= 1000) return `${(ms / 1000).toFixed(3)} s`;
  return `${ms.toFixed(ms < 10 ? 3 : 1)} ms`;
}

export function showBanner(text, good = false) {
  const banner = document.getElementById("banner");
  banner.textContent = text;
  banner.classList.toggle("good", good);
  banner.hidden = !text;
}

const tooltip = () => document.getElementById("tooltip");
export function attachTooltip(node, text) {
  node.addEventListener("mousemove", (event) => {
    const tip = tooltip();
    tip.textContent = typeof text === "function" ? text() : text;
    tip.hidden = false;
    tip.style.left = `${Math.min(event.clientX + 14, innerWidth - 430)}px`;
    tip.style.top = `${event.clientY + 14}px`;
  });
  node.addEventListener("mouseleave", () => { tooltip().hidden = true; });
}

export function linkWithRun(href) {
  const url = new URL(href, location.origin);
  if (runId) url.searchParams.set("run", runId);
  return url.pathname + url.search;
}

async function fillRunPicker(current) {
  const select = document.getElementById("run-select");
  const { runs } = await api("/api/runs");
  for (const run of runs) {
    select.append(el("option", { value: run.id, text: run.live ? `${run.id} (live)` : run.id }));
  }
  select.value = current;
  select.addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("run", select.value);
    url.searchParams.delete("t");
    location.href = url.toString();
  });
  for (const link of document.querySelectorAll("nav.views a")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const url = new URL(link.href);
      url.searchParams.set("run", current);
      url.searchParams.set("t", String(Math.round(timeControl.t)));
      location.href = url.toString();
    });
  }
}

class TimeControl {
  constructor() {
    this.t = 0;
    this.end = 0;
    this.listeners = [];
    this.playing = false;
    this.follow = false;
    this.pendingFrame = false;
    this.slider = document.getElementById("slider");
    this.label = document.getElementById("time-label");
    this.playButton = document.getElementById("play");
    this.speed = document.getElementById("speed");
    this.slider.addEventListener("input", () => {
      this.follow = false;
      document.getElementById("follow").checked = false;
      this.set(Number(this.slider.value));
    });
    this.playButton.addEventListener("click", () => this.toggle());
    document.addEventListener("keydown", (event) => {
      if (event.target.tagName === "INPUT" && event.target.type !== "range") return;
      if (event.key === " ") { event.preventDefault(); this.toggle(); }
      if (event.key === "ArrowRight" && event.target !== this.slider) this.set(this.t + 10);
      if (event.key === "ArrowLeft" && event.target !== this.slider) this.set(this.t - 10);
    });
  }

  setEnd(end) {
    this.end = end;
    this.slider.max = String(Math.max(1, Math.ceil(end)));
  }

  onTime(listener) { this.listeners.push(listener); }

  set(t) {
    this.t = Math.max(0, Math.min(this.end, t));
    this.slider.value = String(Math.round(this.t));
    this.label.textContent = `t = ${formatMs(this.t)}`;
    const url = new URL(location.href);
    url.searchParams.set("t", String(Math.round(this.t)));
    history.replaceState(null, "", url);
    if (this.pendingFrame) return;
    this.pendingFrame = true;
    requestAnimationFrame(() => {
      this.pendingFrame = false;
      for (const listener of this.listeners) listener(this.t);
    });
  }

  toggle() {
    this.playing = !this.playing;
    this.playButton.textContent = this.playing ? "❚❚" : "▶";
    if (!this.playing) return;
    if (this.t >= this.end) this.set(0);
    let last = performance.now();
    const step = (now) => {
      if (!this.playing) return;
      const speed = Number(this.speed.value);
      this.set(this.t + (now - last) * speed);
      last = now;
      if (this.t >= this.end && !this.follow) { this.toggle(); return; }
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  setMarkers(markers) {
    const box = document.getElementById("markers");
    box.replaceChildren();
    for (const marker of markers) {
      const left = this.end > 0 ? (marker.t_ms / this.end) * 100 : 0;
      const node = el("div", {
        class: `marker ${marker.cls || ""}`,
        ...(marker.id ? { id: marker.id } : {}),
        style: `left: ${left}%`,
        onclick: () => this.set(marker.t_ms),
      });
      attachTooltip(node, `${formatMs(marker.t_ms)}  ${marker.label}`);
      box.append(node);
    }
  }
}

export const timeControl = new TimeControl();

// Starts a view: loads the run, sizes the slider, wires live updates, calls `draw(t)`.
export async function startView(init, draw) {
  let run;
  try {
    run = await api("/api/run");
  } catch (error) {
    showBanner(`Cannot load the run: ${error.message}`);
    return;
  }
  fillRunPicker(run.id).catch(() => {});
  document.getElementById("run-meta").textContent =
    `${run.name ?? run.id} · seed ${run.seed} · ${run.event_count.toLocaleString()} events` +
    (run.mode === "live" ? " · live" : "");
  timeControl.setEnd(run.end_ms);
  const violations = run.violations || [];
  timeControl.setMarkers([
    ...run.faults.map((f) => ({ t_ms: f.t_ms, label: f.label, cls: f.kind.split(".").pop() })),
    // Failures first: each violation is a tall mark; the page opens at the first one.
    ...violations.map((v, k) => ({
      t_ms: v.time_ms, label: `violation of ${v.check}: ${v.label}`,
      cls: `violation check-${v.check}`, id: `violation-${k}`,
    })),
  ]);
  if (violations.length) {
    const first = violations[0];
    document.getElementById("run-meta").textContent +=
      ` · first violation (${first.check}) at ${formatMs(first.time_ms)}`;
  }
  const context = { run };
  await init(context);
  timeControl.onTime((t) => draw(context, t).catch((error) => showBanner(error.message)));
  const initial = Number(params.get("t"));
  if (run.mode === "live") {
    document.getElementById("follow-wrap").hidden = false;
    const follow = document.getElementById("follow");
    timeControl.follow = follow.checked;
    follow.addEventListener("change", () => { timeControl.follow = follow.checked; });
    const source = new EventSource(linkWithRun("/api/live/stream"));
    source.addEventListener("state", (event) => {
      const state = JSON.parse(event.data);
      timeControl.setEnd(state.end_ms);
      context.liveState = state;
      if (timeControl.follow) timeControl.set(state.end_ms);
    });
    source.addEventListener("end", () => {
      source.close();
      showBanner("The live run finished.", true);
    });
  }
  // A `t` in the URL wins; else a live run follows its end, a finished one opens where
  // the API says (its first violation, else 0).
  timeControl.set(Number.isFinite(initial) && params.has("t") ? initial : (run.mode === "live" ? run.end_ms : (run.open_ms ?? 0)));
}

// Fault marks (harmonysim.runlog.faultmarks), as the timeline plot draws them: a bar on
// the lane's top edge for what lasts, a shape for an instant, an arrow for a transfer.
export const MARK_STYLES = {
  clock_rate: { colour: "#01665e" },
  clock_strobe: { colour: "#80cdc1" },
  disk_slow: { colour: "#a6611a" },
  halted: { colour: "#67001f" },
  clock_jump: { colour: "#01665e", shape: "diamond" },
  disk_fault: { colour: "#8c510a", shape: "square" },
  damage: { colour: "#d7301f", shape: "cross" },
  repaired: { colour: "#1a9850", shape: "plus" },
  transfer: { colour: "#b8860b", shape: "dot" },
  remove: { colour: "#542788", shape: "down" },
  add: { colour: "#542788", shape: "up" },
  noop: { colour: "#737373", shape: "ring" },
};

function markShape(shape, x, y, colour) {
  const r = 4;
  const paths = {
    diamond: `M${x} ${y - r}L${x + r} ${y}L${x} ${y + r}L${x - r} ${y}Z`,
    square: `M${x - r + 0.5} ${y - r + 0.5}h${2 * r - 1}v${2 * r - 1}h${1 - 2 * r}Z`,
    cross: `M${x - r} ${y - r}L${x + r} ${y + r}M${x + r} ${y - r}L${x - r} ${y + r}`,
    plus: `M${x - r} ${y}H${x + r}M${x} ${y - r}V${y + r}`,
    down: `M${x - r} ${y - r}H${x + r}L${x} ${y + r}Z`,
    up: `M${x - r} ${y + r}H${x + r}L${x} ${y - r}Z`,
  };
  if (shape === "ring" || shape === "dot") {
    return svg("circle", {
      cx: x, cy: y, r: shape === "dot" ? 3 : r - 0.5,
      fill: shape === "dot" ? colour : "#fff", stroke: colour, "stroke-width": 1.5,
    });
  }
  const stroked = shape === "cross" || shape === "plus";
  return svg("path", {
    d: paths[shape], fill: stroked ? "none" : colour, stroke: colour,
    "stroke-width": stroked ? 2.2 : 0.8,
  });
}

// A disk that lasts (slow, halted) sits on the bar's bottom edge, a clock on its top one,
// so both are seen at once (as on the timeline plot).
const BOTTOM_MARKS = new Set(["disk_slow", "halted"]);

function drawMarks(root, timeline, x, laneTop, barHeight) {
  const present = new Map();
  timeline.nodes.forEach((node) => {
    for (const mark of (timeline.marks || {})[node] || []) {
      const style = MARK_STYLES[mark.kind] || { colour: "#737373", shape: "dot" };
      present.set(mark.kind, mark.name);
      const y = laneTop(node);
      const group = svg("g", { class: `fault-mark ${mark.kind}`, "data-kind": mark.kind, "data-node": node });
      let tip = `${mark.label}\n${formatMs(mark.start_ms)}`;
      if (!style.shape) {
        group.append(svg("rect", {
          x: x(mark.start_ms), y: BOTTOM_MARKS.has(mark.kind) ? y + barHeight - 4 : y - 2, height: 5, rx: 1,
          width: Math.max(2, x(mark.end_ms) - x(mark.start_ms)), fill: style.colour,
        }));
        tip += ` → ${formatMs(mark.end_ms)}`;
      } else {
        if (mark.kind === "transfer" && mark.peer && laneTop(mark.peer) !== null) {
          group.append(svg("line", {
            x1: x(mark.start_ms), x2: x(mark.start_ms), y1: y, y2: laneTop(mark.peer),
            stroke: style.colour, "stroke-width": 2, "marker-end": "url(#transfer-arrow)",
          }));
        }
        group.append(markShape(style.shape, x(mark.start_ms), y, style.colour));
      }
      attachTooltip(group, tip);
      root.append(group);
    }
  });
  return present;
}

function drawMarkLegend(container, present) {
  if (!present.size) return;
  const legend = el("div", { class: "mark-legend" });
  const order = Object.keys(MARK_STYLES);
  const kinds = [...present.keys()].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  for (const kind of kinds) {
    const name = present.get(kind);
    const style = MARK_STYLES[kind] || { colour: "#737373", shape: "dot" };
    const icon = svg("svg", { width: 14, height: 10, viewBox: "0 0 14 10" });
    icon.append(style.shape ? markShape(style.shape, 7, 5, style.colour)
      : svg("rect", { x: 0, y: 3, width: 14, height: 5, rx: 1, fill: style.colour }));
    legend.append(el("span", { class: "mark-key", "data-kind": kind }, icon, name));
  }
  container.append(legend);
}

// Roles over time: one lane per node, coloured by role, grey where the node was down,
// pale and dotted where it was outside the configuration, with the fault marks.
export function drawTimeline(container, timeline, t, onPick) {
  const width = container.clientWidth || 900;
  const lane = 22;
  const left = 44;
  const height = timeline.nodes.length * lane + 26;
  const end = Math.max(timeline.end_ms, 1);
  const x = (ms) => left + (ms / end) * (width - left - 10);
  const root = svg("svg", { class: "timeline", viewBox: `0 0 ${width} ${height}`, height });
  const pattern = svg("pattern", { id: "outside-pattern", width: 6, height: 6, patternUnits: "userSpaceOnUse" });
  pattern.append(svg("rect", { width: 6, height: 6, fill: "#f7f7f7" }));
  pattern.append(svg("circle", { cx: 3, cy: 3, r: 1, fill: "#9e9e9e" }));
  const defs = svg("defs", {});
  defs.append(pattern);
  const arrow = svg("marker", {
    id: "transfer-arrow", viewBox: "0 0 6 6", refX: 5, refY: 3,
    markerWidth: 5, markerHeight: 5, orient: "auto",
  });
  arrow.append(svg("path", { d: "M0 0L6 3L0 6Z", fill: MARK_STYLES.transfer.colour }));
  defs.append(arrow);
  root.append(defs);
  timeline.nodes.forEach((node, row) => {
    const y = row * lane + 4;
    root.append(svg("text", { x: 4, y: y + 14, "font-size": 12, fill: "#6b7785", text: node }));
    root.append(svg("rect", { x: left, y, width: width - left - 10, height: lane - 6, fill: "#eef1f5", rx: 3 }));
    for (const interval of timeline.roles[node] || []) {
      const bar = svg("rect", {
        x: x(interval.start_ms), y, height: lane - 6, rx: 2,
        width: Math.max(1, x(interval.end_ms) - x(interval.start_ms)),
        fill: `var(--${interval.role}, #5b7db8)`,
        opacity: interval.role === "follower" ? 0.35 : 0.95,
      });
      attachTooltip(bar, `${node} ${interval.role} term ${interval.term}\n${formatMs(interval.start_ms)} → ${formatMs(interval.end_ms)}`);
      root.append(bar);
    }
    for (const interval of (timeline.outside || {})[node] || []) {
      // Outside the configuration (a spare not yet added, or removed): pale and dotted.
      const away = svg("rect", {
        x: x(interval.start_ms), y, height: lane - 6, rx: 2,
        width: Math.max(1, x(interval.end_ms) - x(interval.start_ms)),
        fill: "url(#outside-pattern)", class: "outside",
      });
      attachTooltip(away, `${node} outside the configuration\n${formatMs(interval.start_ms)} → ${formatMs(interval.end_ms)}`);
      root.append(away);
    }
    for (const interval of timeline.health[node] || []) {
      root.append(svg("rect", {
        x: x(interval.start_ms), y: y + 4, height: lane - 14,
        width: Math.max(2, x(interval.end_ms) - x(interval.start_ms)),
        fill: interval.health === "down" ? "#4a525c" : "var(--paused)", opacity: 0.8,
      }));
    }
  });
  const rows = new Map(timeline.nodes.map((node, row) => [node, row]));
  const laneTop = (node) => (rows.has(node) ? rows.get(node) * lane + 4 : null);
  const present = drawMarks(root, timeline, x, laneTop, lane - 6);
  const axisY = timeline.nodes.length * lane + 18;
  for (let i = 0; i <= 10; i++) {
    const ms = (end * i) / 10;
    root.append(svg("text", { x: x(ms), y: axisY, "font-size": 10, fill: "#6b7785", "text-anchor": "middle", text: formatMs(ms) }));
  }
  root.append(svg("line", { x1: x(t), x2: x(t), y1: 0, y2: height - 12, stroke: "#18212c", "stroke-width": 1.5, class: "cursor" }));
  if (onPick) {
    root.style.cursor = "crosshair";
    root.addEventListener("click", (event) => {
      const box = root.getBoundingClientRect();
      const px = ((event.clientX - box.left) / box.width) * width;
      onPick(((px - left) / (width - left - 10)) * end);
    });
  }
  container.replaceChildren(root);
  drawMarkLegend(container, present);
}
