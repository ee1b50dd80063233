// The local cloud console: one page, hash routes, live updates over Server-Sent Events. No framework, no build step.
// Every value from the cloud is shown with textContent (never as HTML): payloads and log lines are untrusted text.

const BASE = "/_localcloud/console";
const TOKEN = document.querySelector('meta[name="console-token"]').content;
const main = document.getElementById("main");
const live = document.getElementById("live");
let current = null; // the page shown: {onNote(note)?, refresh()?}
let renderToken = 0;

// ---- helpers ---------------------------------------------------------------------------------------------------------
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null) node.setAttribute(key, value);
  for (const child of children.flat(Infinity)) if (child) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function api(path) {
  const response = await fetch(`${BASE}/api/${path}`, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
  return body;
}

async function post(path, body) {
  const response = await fetch(`${BASE}/api/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Console-Token": TOKEN },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.detail || answer.title || response.statusText);
  return answer;
}

function debounce(fn, ms) {
  let timer = null;
  return () => {
    if (timer) return; // at most one refresh per period, however many notes arrive
    timer = setTimeout(() => { timer = null; fn(); }, ms);
  };
}

const badge = (text, kind) => el("span", { class: `badge ${kind || text}`, text });
const time = (epoch) => (epoch ? new Date(epoch * 1000).toLocaleTimeString() : "");
const isoTime = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "");
const short = (arn) => (arn || "").split(/[:/]/).slice(-1)[0];
const ms = (value) => (value === null || value === undefined ? "" : `${Number(value).toFixed(1)} ms`);
const enc = encodeURIComponent;

function pretty(text) {
  if (text === null || text === undefined || text === "") return "";
  if (typeof text !== "string") return JSON.stringify(text, null, 2);
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

function table(headers, rows, empty = "Nothing yet.") {
  if (!rows.length) return el("div", { class: "empty", text: empty });
  const head = el("tr", {}, headers.map((h) => el("th", { class: h.endsWith("#") ? "num" : "", text: h.replace(/#$/, "") })));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, rows));
}

function card(title, count, ...content) {
  return el("section", { class: "card" }, el("h2", {}, title, count === null ? null : el("span", { class: "count", text: `(${count})` })), content);
}

function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}

function notice(text, kind = "") { return el("div", { class: `notice ${kind}`, text }); }

// ---- pages -----------------------------------------------------------------------------------------------------------
const pages = {
  async overview() {
    const data = await api("overview");
    const functions = table(
      ["Function", "Runtime", "Warm#", "Busy#", "Invocations#", "Errors#", "p50#"],
      data.functions.map((f) => el("tr", { class: "clickable", "data-function": f.name, onclick: () => (location.hash = `#invocations/${enc(f.name)}`) },
        el("td", { class: "mono", text: f.name }), el("td", { text: f.runtime || "" }), el("td", { class: "num", text: f.warm }),
        el("td", { class: "num", text: f.busy }), el("td", { class: "num", text: f.invocations }),
        el("td", { class: "num", text: f.errors }), el("td", { class: "num", text: ms(f.p50Ms) }))),
      "No functions deployed.");
    const queues = table(
      ["Queue", "Visible#", "In flight#", "Delayed#", "DLQ", "DLQ depth#", "Max receives#"],
      data.queues.map((q) => el("tr", { class: "clickable", "data-queue": q.name, onclick: () => (location.hash = `#queue/${enc(q.arn)}`) },
        el("td", { class: "mono", text: q.name }), el("td", { class: "num", text: q.visible }), el("td", { class: "num", text: q.inFlight }),
        el("td", { class: "num", text: q.delayed }), el("td", { class: "mono", text: q.dlq ? q.dlq.name : "" }),
        el("td", { class: "num", text: q.dlq ? q.dlq.visible + q.dlq.inFlight : "" }),
        el("td", { class: "num", text: q.redrivePolicy ? q.redrivePolicy.maxReceiveCount : "" }))),
      "No queues.");
    const stacks = data.stacks.length ? data.stacks.map((s) => el("div", {},
      el("h3", {}, s.name, " ", badge(s.status, s.status.endsWith("COMPLETE") && !s.status.includes("ROLLBACK") ? "ok" : "error"),
        el("span", { class: "muted", text: ` ${s.resources} resources` })),
      kv(s.outputs.map((o) => [o.key, el("span", { class: "mono", text: o.value })])))) : el("div", { class: "empty", text: "No stacks." });
    const tables = table(["Table", "Items#", "Keys", "Indexes#", "Stream"],
      data.tables.map((t) => el("tr", {}, el("td", { class: "mono", text: t.name }), el("td", { class: "num", text: t.items }),
        el("td", { text: t.keys.join(", ") }), el("td", { class: "num", text: t.indexes }), el("td", { text: t.stream || "" }))),
      "No tables.");
    const rules = data.buses.flatMap((b) => b.rules.map((r) => el("tr", {},
      el("td", { class: "mono", text: b.name }), el("td", { class: "mono", text: r.name }), el("td", {}, badge(r.state, r.state === "ENABLED" ? "ok" : "")),
      el("td", { class: "mono", text: r.schedule || r.pattern || "" }), el("td", { class: "mono", text: r.targets.map(short).join(", ") }))));
    const machines = table(["State machine", "Executions"],
      data.stateMachines.map((m) => el("tr", { class: "clickable", onclick: () => (location.hash = "#stepfunctions") },
        el("td", { class: "mono", text: m.name }),
        el("td", {}, Object.entries(m.executions).map(([status, n]) => [badge(`${status} ${n}`, status), " "])))),
      "No state machines.");
    const engines = Object.keys(data.engines || {}).length ? el("pre", { text: pretty(data.engines) }) : el("div", { class: "empty", text: "No data engines started." });
    return {
      node: el("div", {},
        card("Stacks", data.stacks.length, stacks),
        card("Functions", data.functions.length, functions),
        card("Queues", data.queues.length, queues),
        el("div", { class: "grid2" }, card("Tables", data.tables.length, tables), card("State machines", data.stateMachines.length, machines)),
        card("Buses and rules", data.buses.length, table(["Bus", "Rule", "State", "Pattern or schedule", "Targets"], rules, "No rules.")),
        card("Data engines", null, engines)),
      refreshOnNotes: 1000,
    };
  },

  async invocations(fn) {
    const data = await api(`invocations${fn ? `?function=${enc(fn)}` : ""}`);
    const row = (i, fresh) => el("tr", { class: `clickable${fresh ? " fresh" : ""}`, "data-request-id": i.requestId, onclick: () => (location.hash = `#invocation/${enc(i.requestId)}`) },
      el("td", { text: time(i.started) }), el("td", { class: "mono", text: i.function + (i.qualifier ? `:${i.qualifier}` : "") }),
      el("td", { class: "num", text: ms(i.durationMs) }), el("td", {}, badge(i.cold ? "cold" : "warm", i.cold ? "cold" : "")),
      el("td", {}, badge(i.status), i.errorType ? el("span", { class: "muted", text: ` ${i.errorType}` }) : null),
      el("td", { class: "mono muted", text: i.requestId }));
    const body = el("tbody", {}, data.invocations.map((i) => row(i)));
    const empty = el("div", { class: "empty", text: "No invocations yet. They appear here as they happen." });
    const list = el("table", { id: "invocations" },
      el("thead", {}, el("tr", {}, ["Started", "Function", "Duration#", "Start", "Status", "Request id"].map((h) => el("th", { class: h.endsWith("#") ? "num" : "", text: h.replace(/#$/, "") })))), body);
    return {
      node: el("div", {}, el("h2", {}, fn ? `Invocations of ${fn}` : "Invocations", fn ? el("a", { href: "#invocations", text: " (all)" }) : null),
        data.invocations.length ? null : empty, list),
      onNote(note) {
        if (note.kind !== "invocation" || (fn && note.data.function !== fn)) return;
        empty.remove();
        body.prepend(row(note.data, true));
        while (body.children.length > 500) body.lastChild.remove();
      },
    };
  },

  async invocation(requestId) {
    const i = await api(`invocation?id=${enc(requestId)}`);
    return {
      node: el("div", {},
        el("h2", {}, `Invocation of ${i.function}`, " ", badge(i.status), " ", badge(i.cold ? "cold" : "warm", i.cold ? "cold" : "")),
        kv([["Request id", el("span", { class: "mono", text: i.requestId })], ["Function", i.function], ["Qualifier", i.qualifier],
          ["Version", i.version], ["Started", new Date(i.started * 1000).toLocaleString()], ["Duration", ms(i.durationMs)], ["Error type", i.errorType]]),
        i.bodiesDropped ? notice("The event and response of this old invocation were dropped to keep the console's memory bounded.") : null,
        el("div", { class: "grid2" },
          el("div", {}, el("h3", { text: `Event${i.eventTruncated ? " (first 64 KB)" : ""}` }), el("pre", { id: "event", text: pretty(i.event) })),
          el("div", {}, el("h3", { text: `Response${i.responseTruncated ? " (first 64 KB)" : ""}` }), el("pre", { id: "response", text: pretty(i.response) }))),
        el("h3", { text: "Log lines" }), el("pre", { id: "logs", text: i.logs.join("\n") || "(no output)" })),
    };
  },

  async stepfunctions() {
    const data = await api("executions");
    return {
      node: el("div", {}, el("h2", {}, "Step Functions executions", el("span", { class: "count", text: `(${data.executions.length})` })),
        table(["Execution", "State machine", "Status", "Started", "Stopped"],
          data.executions.map((e) => el("tr", { class: "clickable", "data-execution": e.name, onclick: () => (location.hash = `#execution/${enc(e.arn)}`) },
            el("td", { class: "mono", text: e.name }), el("td", { class: "mono", text: e.stateMachine }), el("td", {}, badge(e.status)),
            el("td", { text: isoTime(e.started) }), el("td", { text: isoTime(e.stopped) }))),
          "No executions yet.")),
      refreshOnNotes: 1500,
    };
  },

  async execution(arn) {
    const e = await api(`execution?arn=${enc(arn)}`);
    const details = el("div", { id: "state-details" }, el("div", { class: "muted", text: "Select a state to see its input, output, retries and catches." }));
    const graph = drawGraph(e.graph, (node) => showState(details, node));
    const failed = e.graph.nodes.find((n) => n.status === "failed" || n.status === "caught");
    if (failed) showState(details, failed, graph);
    return {
      node: el("div", {},
        el("h2", {}, `Execution ${e.name}`, " ", badge(e.status)),
        kv([["State machine", e.stateMachine], ["Started", e.started && new Date(e.started).toLocaleString()],
          ["Stopped", e.stopped && new Date(e.stopped).toLocaleString()], ["Error", e.error], ["Cause", e.cause]]),
        el("div", { class: "legend" }, ["succeeded", "caught", "failed", "running", "not-run"].map((s) => badge(s))),
        el("div", { class: "grid2" }, el("div", {}, graph), details),
        el("div", { class: "grid2" },
          el("div", {}, el("h3", { text: "Execution input" }), el("pre", { text: pretty(e.input) })),
          el("div", {}, el("h3", { text: "Execution output" }), el("pre", { text: pretty(e.output) || "(none)" }))),
        el("details", {}, el("summary", { text: `History (${e.history.length} events)` }),
          table(["#", "Type", "Time", "Details"], e.history.map((h) => el("tr", {}, el("td", { text: h.id }), el("td", { class: "mono", text: h.type }),
            el("td", { text: isoTime(h.timestamp) }), el("td", {}, h.details ? el("pre", { text: pretty(h.details) }) : "")))))),
      refreshOnNotes: e.status === "RUNNING" ? 1000 : 0,
    };
  },

  async events() {
    const data = await api("events");
    const rows = new Map();
    const body = el("tbody");
    const render = (ev, fresh) => {
      const targets = ev.rules.flatMap((r) => r.targets.map((t) => el("div", {}, badge(t.status), " ", el("span", { class: "mono", text: short(t.arn) }),
        t.attempts > 1 ? el("span", { class: "muted", text: ` (${t.attempts} attempts)` }) : null,
        t.error ? el("div", { class: "muted mono", text: t.error }) : null)));
      const row = el("tr", { class: `clickable${fresh ? " fresh" : ""}`, "data-event-id": ev.id },
        el("td", { text: time(ev.time) }), el("td", { class: "mono", text: ev.bus }), el("td", { class: "mono", text: ev.source }),
        el("td", { text: ev.detailType }),
        el("td", {}, ev.rules.length ? ev.rules.map((r) => el("div", { class: "mono", text: r.name })) : el("span", { class: "muted", text: "no rule matched" })),
        el("td", {}, targets));
      const detail = el("tr", { class: "detail", hidden: true }, el("td", { colspan: 6 }, el("pre", { text: pretty(ev.detail) })));
      row.addEventListener("click", () => { detail.hidden = !detail.hidden; });
      const old = rows.get(ev.id);
      if (old) { old.row.replaceWith(row); detail.hidden = old.detail.hidden; old.detail.replaceWith(detail); }
      else if (fresh) body.prepend(row, detail);
      else body.append(row, detail);
      rows.set(ev.id, { row, detail });
    };
    data.events.forEach((ev) => render(ev, false));
    return {
      node: el("div", {}, el("h2", { text: "Events put on a bus" }),
        el("p", { class: "muted", text: "Every PutEvents entry and schedule firing, the rules it matched and what became of each target. Click a row for the detail." }),
        el("table", { id: "events" }, el("thead", {}, el("tr", {}, ["Time", "Bus", "Source", "Detail type", "Rules matched", "Targets"].map((h) => el("th", { text: h })))), body)),
      onNote(note) { if (note.kind === "event") render(note.data, !rows.has(note.data.id)); },
    };
  },

  async queues() {
    const data = await api("overview");
    return {
      node: el("div", {}, el("h2", { text: "Queues and dead-letter queues" }),
        table(["Queue", "Visible#", "In flight#", "Delayed#", "Redrive policy", "Dead letters from"],
          data.queues.map((q) => el("tr", { class: "clickable", "data-queue": q.name, onclick: () => (location.hash = `#queue/${enc(q.arn)}`) },
            el("td", { class: "mono", text: q.name }), el("td", { class: "num", text: q.visible }), el("td", { class: "num", text: q.inFlight }),
            el("td", { class: "num", text: q.delayed }),
            el("td", { class: "mono", text: q.redrivePolicy ? `${short(q.redrivePolicy.deadLetterTargetArn)} after ${q.redrivePolicy.maxReceiveCount} receives` : "" }),
            el("td", { class: "mono", text: q.deadLetterSources.map(short).join(", ") }))),
          "No queues.")),
      refreshOnNotes: 1000,
    };
  },

  async queue(arn) {
    const q = await api(`queue?arn=${enc(arn)}`);
    const status = el("div");
    const redrive = async (destination, button) => {
      button.disabled = true;
      try {
        const moved = await post("redrive", { queue: q.arn, destination });
        status.replaceChildren(notice(`Moved ${moved.moved} message(s) to ${short(moved.to)}.`));
        setTimeout(render, 300);
      } catch (error) {
        status.replaceChildren(notice(`Redrive failed: ${error.message}`, "error"));
        button.disabled = false;
      }
    };
    const buttons = q.deadLetterSources.map((source) => {
      const button = el("button", { id: q.deadLetterSources.length === 1 ? "redrive" : null, "data-destination": source, text: `Redrive to ${short(source)}` });
      button.addEventListener("click", () => redrive(source, button));
      return button;
    });
    const messages = q.messages.map((m) => el("tr", {},
      el("td", { class: "mono", text: m.messageId }), el("td", {}, badge(m.state, m.state === "visible" ? "" : "running")),
      el("td", { class: "num", text: m.attributes.ApproximateReceiveCount }), el("td", { text: m.attributes.SentTimestamp ? new Date(Number(m.attributes.SentTimestamp)).toLocaleTimeString() : "" }),
      el("td", {}, el("details", {}, el("summary", { class: "mono", text: m.body.slice(0, 120) }), el("pre", { text: pretty(m.body) }),
        el("pre", { text: pretty({ attributes: m.attributes, messageAttributes: m.messageAttributes }) })))));
    return {
      node: el("div", {},
        el("h2", { text: `Queue ${q.name}` }),
        kv([["ARN", el("span", { class: "mono", text: q.arn })], ["Visible", String(q.visible)], ["In flight", String(q.inFlight)], ["Delayed", String(q.delayed)],
          ["Redrive policy", q.redrivePolicy ? JSON.stringify(q.redrivePolicy) : null], ["Dead letters from", q.deadLetterSources.map(short).join(", ")]]),
        buttons.length ? el("div", { class: "toolbar" }, buttons, el("span", { class: "muted", text: "moves the available messages back; their receive count starts again" })) : null,
        status,
        el("h3", { text: `Messages (peeked: not received, receive counts unchanged)` }),
        el("div", { id: "messages" }, table(["Message id", "State", "Receives#", "Sent", "Body"], messages, "The queue is empty."))),
      refreshOnNotes: 1000,
    };
  },

  async panel(arg) {
    const [id, ...args] = (arg || "").split("/"); // #panel/<id>/<args...>
    const panel = panels.find((p) => p.id === id);
    if (!panel) throw new Error(`no panel ${id}`);
    const container = el("div", { class: "panel", "data-panel": id });
    const node = el("div", {}, el("h2", { text: panel.title }), container);
    if (panel.module) {
      const module = await import(panel.module);
      const hooks = (await module.render(container, { api, post, el, args })) || {};
      return { node, onNote: hooks.onNote, dispose: hooks.dispose };
    } else {
      const response = await fetch(panel.endpoint, { headers: { Accept: "application/json" } });
      const data = await response.json();
      if (Array.isArray(data) && data.length && typeof data[0] === "object") {
        const keys = Object.keys(data[0]);
        container.append(table(keys, data.map((row) => el("tr", {}, keys.map((k) => el("td", { class: "mono", text: typeof row[k] === "object" ? JSON.stringify(row[k]) : row[k] }))))));
      } else container.append(el("pre", { text: pretty(data) }));
    }
    return { node };
  },
};

// ---- the Step Functions graph ------------------------------------------------------------------------------------------
function drawGraph(graph, onSelect) {
  const pad = 24;
  const W = graph.nodeWidth, H = graph.nodeHeight;
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const root = svg("svg", { class: "graph", id: "graph", width: graph.width + pad * 2 + 60, height: graph.height + pad * 2,
    viewBox: `${-pad} ${-pad} ${graph.width + pad * 2 + 60} ${graph.height + pad * 2}` });
  root.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#6b7280" }))));
  for (const edge of graph.edges) {
    const a = byName.get(edge.from), b = byName.get(edge.to);
    if (!a || !b) continue;
    let d;
    if (edge.back || b.y <= a.y) { // a loop: around the right side
      const x = Math.max(a.x, b.x) + W + 30;
      d = `M ${a.x + W} ${a.y + H / 2} C ${x} ${a.y + H / 2}, ${x} ${b.y + H / 2}, ${b.x + W} ${b.y + H / 2}`;
    } else {
      const x1 = a.x + W / 2 + (edge.kind === "catch" ? W / 4 : 0), y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y;
      d = `M ${x1} ${y1} C ${x1} ${(y1 + y2) / 2}, ${x2} ${(y1 + y2) / 2}, ${x2} ${y2}`;
    }
    root.append(svg("path", { class: `edge ${edge.kind}${edge.taken ? " taken" : ""}`, d, "marker-end": "url(#arrow)" }));
    if (edge.label) {
      const lx = (a.x + b.x) / 2 + W / 2 + 6, ly = (a.y + H + b.y) / 2;
      root.append(svg("text", { class: "edge-label", x: lx, y: ly }, edge.kind === "catch" ? `catch ${edge.label}` : edge.label));
    }
  }
  for (const node of graph.nodes) {
    const sub = [node.type, node.retries ? `${node.retries} retr${node.retries === 1 ? "y" : "ies"}` : null, node.visits > 1 ? `${node.visits} visits` : null]
      .filter(Boolean).join(" · ");
    const group = svg("g", { class: `node ${node.status}`, "data-state": node.name, "data-status": node.status, transform: `translate(${node.x} ${node.y})`, tabindex: 0 },
      svg("title", {}, `${node.name}: ${node.status}`),
      svg("rect", { width: W, height: H, rx: 8 }),
      svg("text", { x: 10, y: 18 }, node.name.length > 24 ? `${node.name.slice(0, 23)}…` : node.name),
      svg("text", { class: "sub", x: 10, y: 34 }, `${sub} · ${node.status}`));
    group.addEventListener("click", () => {
      root.querySelectorAll(".node.selected").forEach((n) => n.classList.remove("selected"));
      group.classList.add("selected");
      onSelect(node);
    });
    root.append(group);
  }
  return root;
}

function showState(container, node, graph) {
  if (graph) graph.querySelector(`[data-state="${CSS.escape(node.name)}"]`)?.classList.add("selected");
  container.replaceChildren(...[
    el("h3", {}, node.name, " ", badge(node.status)),
    kv([["Type", node.type], ["Attempts", node.attempts ? String(node.attempts) : null], ["Retries", node.retries ? String(node.retries) : null],
      ["Error", node.error], ["Cause", node.cause]]),
    node.retry ? [el("h3", { text: "Retry" }), el("pre", { text: pretty(node.retry) })] : null,
    node.catch ? [el("h3", { text: "Catch" }), el("pre", { text: pretty(node.catch) })] : null,
    el("h3", { text: "Input" }), el("pre", { class: "state-input", text: pretty(node.input) || "(not run)" }),
    el("h3", { text: "Output" }), el("pre", { class: "state-output", text: pretty(node.output) || "(none)" }),
  ].flat().filter(Boolean));
}

// ---- routing and live updates -----------------------------------------------------------------------------------------
let panels = [];

async function render() {
  const mine = ++renderToken;
  const [page, ...rest] = (location.hash.slice(1) || "overview").split("/");
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
  const nav = { invocation: "invocations", execution: "stepfunctions", queue: "queues" }[page] || page;
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === (page === "panel" ? `panel/${(arg || "").split("/")[0]}` : nav)));
  const build = pages[page];
  if (!build) { main.replaceChildren(notice(`No page ${page}.`, "error")); return; }
  try {
    const shown = await build(arg);
    if (mine !== renderToken) { shown.dispose?.(); return; } // another page was asked for meanwhile
    if (current && current !== shown) current.dispose?.();
    const y = window.scrollY;
    main.replaceChildren(shown.node);
    main.dataset.page = page;
    if (current && current.sameAs === location.hash) window.scrollTo(0, y);
    current = shown;
    current.sameAs = location.hash;
    if (shown.refreshOnNotes) current.refresh = debounce(render, shown.refreshOnNotes);
  } catch (error) {
    if (mine === renderToken) main.replaceChildren(notice(error.message, "error"));
  }
}

function connect() {
  const stream = new EventSource(`${BASE}/stream`);
  stream.onopen = () => { live.textContent = "live"; live.className = "live on"; };
  stream.onerror = () => { live.textContent = "reconnecting"; live.className = "live off"; }; // EventSource retries by itself
  for (const kind of ["invocation", "event", "resync"]) {
    stream.addEventListener(kind, (message) => {
      const note = { kind, data: JSON.parse(message.data || "{}") };
      if (!current) return;
      if (kind === "resync") { render(); return; }
      if (current.onNote) current.onNote(note);
      if (current.refresh) current.refresh();
    });
  }
}

async function loadPanels() {
  try {
    panels = (await api("panels")).panels;
  } catch { panels = []; }
  const nav = document.getElementById("nav");
  for (const panel of panels) nav.append(el("a", { href: `#panel/${enc(panel.id)}`, "data-page": `panel/${panel.id}`, text: panel.title }));
}

window.addEventListener("hashchange", render);
await loadPanels();
await render();
connect();
