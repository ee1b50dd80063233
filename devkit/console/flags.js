// Marquee's feature flags (devkit/console_panels.py): the deployed AppConfig document, and a flag's default turned on
// or off from the page. A change is a new hosted configuration version, deployed as `marquee flags set` does it; the
// functions see it within their cache age. The POST carries the console's token (console.post).
export async function render(element, { api, post, el }) {
  const status = el("div", { id: "flag-status" });
  const body = el("tbody");
  const draw = async () => {
    const { version, flags } = await api("x/marquee/flags");
    version_.textContent = `AppConfig version ${version}`;
    body.replaceChildren(...Object.entries(flags).sort().map(([name, flag]) => {
      const on = flag.default === true;
      const button = el("button", { class: on ? "secondary" : "", "data-flag": name, text: on ? "Turn off" : "Turn on" });
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          const done = await post("x/marquee/flags", { name, default: !on });
          status.replaceChildren(el("div", { class: "notice", text: `${name} is ${done.default ? "on" : "off"} by default: version ${done.version} deployed; functions see it within their cache age.` }));
          await draw();
        } catch (error) {
          status.replaceChildren(el("div", { class: "notice error", text: `Not changed: ${error.message}` }));
          button.disabled = false;
        }
      });
      const rules = Object.entries(flag.rules || {}).map(([rule, r]) => el("div", { class: "mono muted", text: `${rule}: ${JSON.stringify(r.conditions)} → ${JSON.stringify(r.when_match)}` }));
      return el("tr", { "data-flag-row": name },
        el("td", { class: "mono", text: name }),
        el("td", {}, el("span", { class: `badge ${on ? "ok" : ""}`, "data-default": String(flag.default), text: JSON.stringify(flag.default) })),
        el("td", {}, rules.length ? rules : el("span", { class: "muted", text: "none" })),
        el("td", {}, typeof flag.default === "boolean" ? button : null));
    }));
  };
  const version_ = el("span", { class: "muted" });
  element.append(version_, status,
    el("table", { id: "flags" }, el("thead", {}, el("tr", {}, ["Flag", "Default", "Rules", ""].map((h) => el("th", { text: h })))), body));
  await draw();
  return {};
}
