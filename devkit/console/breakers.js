// Marquee's circuit breakers over time (devkit/console_panels.py): each breaker's record in the ops table, and its
// transitions drawn on a timeline of the last 10 minutes (closed, open, half-open). Read again every 2 s.
const COLORS = { CLOSED: "#1f8a4c", OPEN: "#c4320a", HALF_OPEN: "#d08a00" };
const SVG = "http://www.w3.org/2000/svg";
const WINDOW_MS = 10 * 60 * 1000;

function shape(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function timeline(breaker, now) {
  const width = 560, height = 22, start = now - WINDOW_MS;
  const svg = shape("svg", { width, height: height + 14, class: "breaker-timeline" });
  const x = (ms) => Math.max(0, Math.min(width, ((ms - start) / WINDOW_MS) * width));
  let state = breaker.transitions.length ? breaker.transitions[0].from : breaker.state;
  let from = start;
  for (const t of breaker.transitions.filter((t) => t.atMs >= start)) {
    svg.append(shape("rect", { x: x(from), y: 0, width: Math.max(1, x(t.atMs) - x(from)), height, fill: COLORS[state] || "#9aa3b2" }, `${state}`));
    state = t.to; from = t.atMs;
  }
  for (const t of breaker.transitions.filter((t) => t.atMs < start)) state = t.to;
  svg.append(shape("rect", { x: x(from), y: 0, width: Math.max(1, width - x(from)), height, fill: COLORS[breaker.state] || "#9aa3b2" }, breaker.state));
  svg.append(shape("text", { x: 0, y: height + 12, "font-size": 10, fill: "#667085" }, "10 min ago"));
  svg.append(shape("text", { x: width - 22, y: height + 12, "font-size": 10, fill: "#667085" }, "now"));
  return svg;
}

export async function render(element, { api, el }) {
  const list = el("div", { id: "breakers" });
  const draw = async () => {
    const { nowMs, breakers } = await api("x/marquee/breakers");
    list.replaceChildren(...(breakers.length ? breakers.map((b) => el("section", { class: "card", "data-breaker": b.name, "data-state": b.state },
      el("h3", {}, el("span", { class: "mono", text: b.name }), " ", el("span", { class: `badge ${b.state === "CLOSED" ? "ok" : b.state === "OPEN" ? "error" : "caught"}`, text: b.state }),
        el("span", { class: "muted", text: ` ${b.failures || 0} failure(s) in the window` })),
      timeline(b, nowMs),
      b.transitions.length ? el("table", {}, el("tbody", {}, b.transitions.slice(-8).reverse().map((t) => el("tr", {},
        el("td", { text: new Date(t.atMs).toLocaleTimeString() }), el("td", { class: "mono", text: `${t.from} → ${t.to}` }), el("td", { class: "muted", text: t.reason || "" })))))
        : el("div", { class: "empty", text: "Never tripped." })))
      : [el("div", { class: "empty", text: "No breaker has been written yet: each is closed until its first failure." })]));
  };
  await draw();
  const poll = setInterval(() => draw().catch(() => {}), 2000);
  element.append(el("p", { class: "muted", text: "Payments and notification providers each have one, shared by every instance (pattern 4)." }),
    el("div", { class: "legend" }, Object.entries(COLORS).map(([s, c]) => { const dot = el("span", { class: "badge", text: s }); dot.style.borderLeft = `10px solid ${c}`; return dot; })), list);
  return { dispose: () => clearInterval(poll) };
}
