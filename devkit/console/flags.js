// Marquee's feature flags (devkit/console_panels.py): the deployed AppConfig document, a flag's default turned on
// or off from the page, and maintenance mode switched per service (below the flags). A change is a new hosted configuration version, deployed as `marquee flags set` does it; the
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
  await maintenance(element, { api, post, el }, draw);
  return {};
}

// Maintenance mode (marquee.http.maintenance): a service behind the API, or one tenant's use of it, or only its
// writes, answers 503 problem+json with Retry-After, as `marquee maintenance on|off` switches it.
async function maintenance(element, { api, post, el }, redrawFlags) {
  const status = el("div", { id: "maintenance-status" });
  const scopes = el("tbody");
  const service = el("select", { id: "maintenance-service" });
  const tenant = el("input", { id: "maintenance-tenant", placeholder: "every tenant" });
  const writesOnly = el("input", { id: "maintenance-writes-only", type: "checkbox" });
  const retry = el("input", { id: "maintenance-retry", type: "number", value: "300", min: "1" });
  const send = async (request) => {
    try {
      const done = await post("x/marquee/maintenance", request);
      status.replaceChildren(el("div", { class: "notice", text: `${request.service} ${request.on ? "in" : "out of"} maintenance: version ${done.version} deployed; functions see it within their cache age.` }));
      await draw();
      await redrawFlags();
    } catch (error) {
      status.replaceChildren(el("div", { class: "notice error", text: `Not changed: ${error.message}` }));
    }
  };
  const draw = async () => {
    const state = await api("x/marquee/maintenance");
    if (!service.options.length) {
      service.replaceChildren(...state.services.map((name) => el("option", { value: name, text: name })));
    }
    scopes.replaceChildren(...state.scopes.map((scope) => {
      const end = el("button", { class: "secondary", "data-maintenance-off": scope.service, text: "End" });
      end.addEventListener("click", () => send({ service: scope.service, tenant: scope.tenant, writesOnly: scope.writes_only, on: false }));
      return el("tr", { "data-maintenance-row": scope.service },
        el("td", { class: "mono", text: scope.service }),
        el("td", { text: scope.tenant || "every tenant" }),
        el("td", { text: scope.writes_only ? "writes" : "all requests" }),
        el("td", { text: `${scope.retry_after_s} s` }),
        el("td", {}, end));
    }));
  };
  const on = el("button", { id: "maintenance-on", text: "Put in maintenance" });
  on.addEventListener("click", () => send({
    service: service.value, tenant: tenant.value.trim() || null, writesOnly: writesOnly.checked,
    retryAfterS: Number(retry.value), on: true,
  }));
  element.append(el("h3", { text: "Maintenance mode" }), status,
    el("div", {}, service, tenant, el("label", {}, writesOnly, " writes only"), retry, on),
    el("table", { id: "maintenance" }, el("thead", {}, el("tr", {}, ["Service", "Tenant", "Refused", "Retry-After", ""].map((h) => el("th", { text: h })))), scopes));
  await draw();
}
