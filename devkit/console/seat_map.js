// Marquee's live seat map (devkit/console_panels.py): #panel/seat-map/<showtime>[/<tenant>]. Every seat is drawn from
// its item in the main table, free, held, sold or unavailable now; the map is read again as the cloud's activity
// arrives (each invocation and bus event, at most every 150 ms) and every 2 s for leases that run out.
const COLORS = { free: "#e3f4ea", held: "#fde7a8", sold: "#f5b5a3", unavailable: "#d5d9e0" };
const STROKES = { free: "#1f8a4c", held: "#a15c00", sold: "#c4320a", unavailable: "#9aa3b2" };
const SVG = "http://www.w3.org/2000/svg";
const enc = encodeURIComponent;

function shape(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

async function picker(element, { api, el }) {
  const { showtimes } = await api("x/marquee/showtimes");
  const input = el("input", { id: "showtime-id", placeholder: "showtime id", size: 28 });
  const tenant = el("input", { id: "showtime-tenant", placeholder: "tenant (optional)", size: 16 });
  const open = () => { if (input.value.trim()) location.hash = `#panel/seat-map/${enc(input.value.trim())}${tenant.value.trim() ? `/${enc(tenant.value.trim())}` : ""}`; };
  element.append(
    el("div", { class: "toolbar" }, input, tenant, el("button", { text: "Show", onclick: open }),
      el("span", { class: "muted", text: "or `marquee race SHOWTIME SEAT` prints this page's address" })),
    el("h3", { text: "Showtimes on the bus lately" }),
    showtimes.length
      ? el("ul", {}, showtimes.map((s) => el("li", {}, el("a", { href: `#panel/seat-map/${enc(s.id)}/${enc(s.tenant)}`, class: "mono", text: s.id }),
        el("span", { class: "muted", text: ` ${s.tenant} · ${s.lastEvent}` }))))
      : el("div", { class: "empty", text: "None yet: create a showtime or hold a seat (`make demo` does both)." }));
}

export async function render(element, console) {
  const { api, el, args } = console;
  const [showtime, tenant] = args;
  if (!showtime) { await picker(element, console); return {}; }
  const path = `x/marquee/seats?showtime=${enc(showtime)}${tenant ? `&tenant=${enc(tenant)}` : ""}`;
  const first = await api(path);
  const rows = [...new Set(first.seats.map((s) => s.row))];
  const perRow = Math.max(...first.seats.map((s) => s.number), 1);
  const size = 26, gap = 6, left = 28;
  const map = shape("svg", { id: "seat-map", class: "seat-map", width: left + perRow * (size + gap) + 10, height: rows.length * (size + gap) + 40 });
  map.append(shape("rect", { x: left, y: 2, width: perRow * (size + gap) - gap, height: 8, rx: 3, fill: "#9aa3b2" }));
  const cells = new Map();
  rows.forEach((row, r) => {
    const label = shape("text", { x: 4, y: 34 + r * (size + gap) + size / 2, "font-size": 12, fill: "#667085" });
    label.textContent = row;
    map.append(label);
  });
  for (const seat of first.seats) {
    const x = left + (seat.number - 1) * (size + gap), y = 24 + rows.indexOf(seat.row) * (size + gap);
    const rect = shape("rect", { x, y, width: size, height: size, rx: 5, "data-seat": seat.seatId, "stroke-width": 1.4 });
    rect.append(shape("title", {}));
    cells.set(seat.seatId, rect);
    map.append(rect);
  }
  const counts = el("div", { id: "seat-counts", class: "toolbar" });
  const stamp = el("span", { class: "muted" });
  const paint = (data) => {
    for (const seat of data.seats) {
      const rect = cells.get(seat.seatId);
      if (!rect) continue;
      if (rect.getAttribute("data-state") !== seat.state) {
        rect.setAttribute("data-state", seat.state);
        rect.setAttribute("fill", COLORS[seat.state]);
        rect.setAttribute("stroke", STROKES[seat.state]);
      }
      rect.firstChild.textContent = `${seat.seatId}: ${seat.state} · fence ${seat.fence}${seat.holder ? ` · hold ${seat.holder}` : ""}${seat.soldTo ? ` · order ${seat.soldTo}` : ""}`;
    }
    counts.replaceChildren(...["free", "held", "sold", "unavailable"].map((state) => {
      const badge = el("span", { class: "badge", "data-count": state, text: `${state} ${data.counts[state] || 0}` });
      badge.style.background = COLORS[state]; // CSSOM, which the console's style policy allows (no inline style attribute)
      return badge;
    }), stamp);
    stamp.textContent = `read at ${new Date(data.atMs).toLocaleTimeString()}`;
  };
  paint(first);
  let busy = false, again = false, timer = null;
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try { paint(await api(path)); } catch (error) { stamp.textContent = `not read: ${error.message}`; }
    busy = false;
    if (again) { again = false; refresh(); }
  };
  const soon = () => { if (!timer) timer = setTimeout(() => { timer = null; refresh(); }, 150); };
  const poll = setInterval(refresh, 2000);
  element.append(
    el("p", { class: "muted" }, "Showtime ", el("span", { class: "mono", text: first.showtimeId }), ` of tenant ${first.tenant}. `,
      "Start a race to watch: ", el("code", { text: `marquee race ${first.showtimeId} ${first.seats[0] ? first.seats[0].seatId : "A1"} --racers 200` })),
    counts, map);
  return { onNote: soon, dispose: () => { clearInterval(poll); clearTimeout(timer); } };
}
