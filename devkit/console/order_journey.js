// Marquee's order journey (devkit/console_panels.py): #panel/order-journey/<order>[/<tenant>]. The hold, the saga's
// states (from its execution: the graph page draws them), what each payment provider was asked and the breakers now,
// the order's events and where the bus sent them, its notifications and webhook deliveries. Read again as activity
// arrives, at most every 500 ms.
const enc = encodeURIComponent;
const ORDER = ["ReserveSeats", "ChargePayment", "ConfirmOrder", "RefundPayment", "ReleaseSeats", "MarkFailed"];

async function picker(element, { api, el }) {
  const { orders } = await api("x/marquee/orders");
  const input = el("input", { id: "order-id", placeholder: "order id (ord_...)", size: 30 });
  element.append(
    el("div", { class: "toolbar" }, input, el("button", { text: "Show", onclick: () => { if (input.value.trim()) location.hash = `#panel/order-journey/${enc(input.value.trim())}`; } })),
    el("h3", { text: "Orders on the bus lately" }),
    orders.length
      ? el("ul", { id: "recent-orders" }, orders.map((o) => el("li", {}, el("a", { href: `#panel/order-journey/${enc(o.id)}/${enc(o.tenant)}`, class: "mono", text: o.id }),
        el("span", { class: "muted", text: ` ${o.tenant} · ${o.lastEvent}` }))))
      : el("div", { class: "empty", text: "None yet: place an order (`make demo` places several)." }));
}

function step(el, title, ...content) {
  return el("section", { class: "card journey-step" }, el("h3", { text: title }), content);
}

export async function render(element, console) {
  const { api, el, args } = console;
  const [orderId, tenant] = args;
  if (!orderId) { await picker(element, console); return {}; }
  const path = `x/marquee/order?order=${enc(orderId)}${tenant ? `&tenant=${enc(tenant)}` : ""}`;
  const draw = async () => {
    const j = await api(path);
    const o = j.order;
    let saga = el("div", { class: "empty", text: "No execution yet." });
    if (j.executionArn) {
      const e = await api(`execution?arn=${enc(j.executionArn)}`).catch(() => null);
      if (e) {
        const ran = e.graph.nodes.filter((n) => n.status !== "not-run")
          .sort((a, b) => (ORDER.indexOf(a.name) + 99) % 99 - (ORDER.indexOf(b.name) + 99) % 99);
        saga = el("div", {},
          el("div", { class: "toolbar", id: "saga-states" }, ran.map((n) => el("span", { class: `badge ${n.status}`, "data-state": n.name, "data-status": n.status,
            text: `${n.name}${n.attempts > 1 ? ` ×${n.attempts}` : ""} · ${n.status}` })), badgeOf(el, e.status)),
          el("a", { id: "saga-graph", href: `#execution/${enc(j.executionArn)}`, text: "Open the saga's graph" }));
      }
    }
    const attempts = j.chargeAttempts.length
      ? el("table", { id: "charge-attempts" }, el("tbody", {}, j.chargeAttempts.map((a) => el("tr", {},
        el("td", { class: "mono", text: a.provider }), el("td", { text: a.kind }), el("td", { class: "mono muted", text: a.key }),
        el("td", { class: "num", text: `${a.requests} request(s)` }), el("td", { text: a.answer ? `HTTP ${a.answer} ${a.outcome || ""}` : "no answer kept" })))))
      : el("div", { class: "empty", text: "No provider was asked (yet)." });
    const breakers = j.breakers.length
      ? el("div", { class: "toolbar" }, j.breakers.map((b) => el("span", { class: `badge ${b.state === "CLOSED" ? "ok" : "error"}`, text: `${b.name} ${b.state}` })))
      : el("div", { class: "muted", text: "Payment breakers: closed (never written)." });
    const events = el("table", { id: "order-events" }, el("tbody", {}, j.events.map((ev) => el("tr", { "data-event-type": ev.type },
      el("td", { text: new Date(ev.time * 1000).toLocaleTimeString() }), el("td", { text: ev.type }),
      el("td", {}, ev.rules.flatMap((r) => r.targets.map((t) => el("div", {}, el("span", { class: `badge ${t.status}`, text: t.status }), " ",
        el("span", { class: "mono", title: r.name, text: t.arn.split(/[:/]/).slice(-1)[0].replace(/^Marquee-/, "") })))))))));
    const notes = j.notifications.length
      ? el("table", { id: "order-notifications" }, el("tbody", {}, j.notifications.map((n) => el("tr", {},
        el("td", { text: n.eventType }), el("td", { text: n.channel }), el("td", { class: "mono", text: n.provider || "" }),
        el("td", {}, el("span", { class: `badge ${n.status === "SENT" ? "ok" : n.status === "FAILED" ? "error" : ""}`, text: n.status })),
        el("td", { class: "muted", text: n.error || "" })))))
      : el("div", { class: "empty", text: "No notification for this order's events (yet)." });
    const hooks = j.webhooks.length
      ? el("table", { id: "order-webhooks" }, el("tbody", {}, j.webhooks.map((w) => el("tr", {},
        el("td", { text: w.eventType }), el("td", { class: "mono", text: w.url || w.endpointId }),
        el("td", {}, el("span", { class: "badge", text: w.status })), el("td", { class: "num", text: `${w.attempts.length} attempt(s)` })))))
      : el("div", { class: "empty", text: "No webhook delivery for this order's events (no endpoint, or not yet)." });
    const history = (o.history || []).map((h) => el("li", { class: "mono", text: `${h.step} ${h.status}${h.detail ? ` (${h.detail})` : ""}` }));
    element.replaceChildren(
      el("p", {}, el("span", { class: "mono", text: orderId }), " ", badgeOf(el, o.status, "order-status"),
        el("span", { class: "muted", text: ` tenant ${j.tenant}${o.reason ? ` · ${o.reason}` : ""}` })),
      el("div", { class: "grid2" },
        step(el, "1. Hold", j.hold ? el("div", {}, el("span", { class: "mono", text: o.holdId }), " ", badgeOf(el, j.hold.hold_status || ""),
          el("div", { class: "muted", text: `seats ${(o.seats || []).map((seat) => seat.seatId || seat).join(", ")}` })) : el("div", { class: "empty", text: "hold not found" })),
        step(el, "2. Saga", saga, history.length ? el("ol", {}, history) : null)),
      el("div", { class: "grid2" },
        step(el, "3. Payment", j.payment ? el("div", {}, badgeOf(el, j.payment.status), el("span", { class: "mono", text: ` ${j.payment.provider || ""} ${o.paymentId || ""}` })) : null,
          attempts, breakers),
        step(el, "4. Events (outbox → bus)", j.events.length ? events : el("div", { class: "empty", text: "No event seen yet." }))),
      el("div", { class: "grid2" }, step(el, "5. Notifications", notes), step(el, "6. Webhook deliveries", hooks)));
  };
  await draw();
  let timer = null;
  return { onNote: () => { if (!timer) timer = setTimeout(() => { timer = null; draw().catch(() => {}); }, 500); }, dispose: () => clearTimeout(timer) };
}

function badgeOf(el, status, id) {
  const kind = { CONFIRMED: "ok", CAPTURED: "ok", SUCCEEDED: "ok", FAILED: "error", DECLINED: "error", REFUNDED: "caught", PENDING: "running", RUNNING: "running" }[status] || "";
  return el("span", { class: `badge ${kind}`, id, text: status });
}
