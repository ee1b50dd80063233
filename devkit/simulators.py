"""Marquee's simulated providers plugged into the local cloud through its extension hook (localcloud/extensions.py).

``python -m localcloud --extension devkit.simulators:Simulators`` (``marquee cloud up`` and the tests' cloud process do
this) starts the payment providers (devkit/providers.py: primary, secondary) and the notification providers
(devkit/notification_providers.py: six) with the cloud, each on a free port the OS picks, so clouds on any two ports run
side by side. Their admin routes on the cloud:
- ``GET /_localcloud/simulators``: the URLs by kind ("payment", "notification"), then name;
- ``GET|POST /_localcloud/providers[/{name}/{stop|start}]`` and the same under ``/_localcloud/notification-providers``.

It also adds Marquee's console pages (seat map, order journey, flags, breakers: devkit/console_panels.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

log = logging.getLogger("devkit.simulators")


class SimulatedProvider(Protocol):
    """A simulated external service the local cloud runs on loopback (payment and notification providers)."""

    name: str
    port: int

    @property
    def url(self) -> str: ...

    @property
    def running(self) -> bool: ...

    def start(self) -> object: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class ProviderFleet:
    """Several simulated providers of one kind: started together, stopped and restarted one by one (the tours and tests
    take a provider down for real: its port closes). A port already in use is reported and that provider left stopped.
    """

    def __init__(self, kind: str, providers: Mapping[str, SimulatedProvider]) -> None:
        self.kind = kind
        self.providers = providers

    def start(self) -> None:
        for provider in self.providers.values():
            try:
                provider.start()
            except OSError as exc:
                log.warning("%s %s could not listen on port %s: %s", self.kind, provider.name, provider.port, exc)

    def stop(self) -> None:
        """Stop every provider and give its port back (the cloud's shutdown)."""
        for provider in self.providers.values():
            provider.close()

    def urls(self) -> dict[str, str]:
        return {name: p.url for name, p in self.providers.items()}

    def status(self) -> dict[str, Any]:
        return {name: {"url": p.url, "running": p.running} for name, p in self.providers.items()}

    def admin(self, name: str, action: str) -> tuple[int, dict[str, Any]]:
        """``stop`` or ``start`` one provider; the HTTP answer as (status, body)."""
        provider = self.providers.get(name)
        if provider is None or action not in ("stop", "start"):
            return 404, {"message": f"unknown {self.kind} operation {name}/{action}"}
        if action == "stop":
            provider.stop()
        else:
            try:
                provider.start()
            except OSError as exc:
                return 409, {"message": f"port {provider.port} is in use: {exc}"}
        return 200, {"provider": name, "running": provider.running, "url": provider.url}


class Simulators:
    """The local cloud extension that runs the simulated providers (``devkit.simulators:Simulators``).

    ``providers_port``/``notification_providers_port`` fix the ports instead of the OS: payment N and N + 1,
    notification N .. N + 5.
    """

    def __init__(self, providers_port: int | None = None, notification_providers_port: int | None = None) -> None:
        self.providers_port = providers_port
        self.notification_providers_port = notification_providers_port
        self.fleets: dict[str, ProviderFleet] = {}  # by admin route: "providers", "notification-providers"
        self.kinds: dict[str, str] = {}  # admin route -> kind in GET /_localcloud/simulators

    def start(self, cloud: LocalCloud) -> None:
        from devkit import notification_providers, providers

        host, endpoint_url = cloud.settings.host, cloud.settings.endpoint_url
        payment = providers.Providers(host=host, first_port=self.providers_port or 0, endpoint_url=endpoint_url)
        payment.start()
        self.fleets["providers"], self.kinds["providers"] = payment, providers.KIND
        notification = notification_providers.NotificationProviders(
            host=host, first_port=self.notification_providers_port or 0, endpoint_url=endpoint_url
        )
        notification.start()
        self.fleets["notification-providers"] = notification
        self.kinds["notification-providers"] = notification_providers.KIND
        from devkit.console_panels import MarqueeConsole

        self.console = MarqueeConsole(cloud, providers=lambda: payment.providers)

    def console_panels(self) -> list[dict[str, Any]]:
        """Marquee's console pages: seat map, order journey, flags, breakers (devkit/console_panels.py)."""
        from devkit.console_panels import MarqueeConsole

        return MarqueeConsole.panels()

    def console_api(
        self, method: str, path: str, query: Mapping[str, str], body: dict[str, Any] | None
    ) -> tuple[int, Any] | None:
        console = getattr(self, "console", None)
        return console.api(method, path, query, body) if console is not None else None

    def stop(self) -> None:
        for fleet in self.fleets.values():
            fleet.stop()

    def urls(self) -> dict[str, dict[str, str]]:
        """The simulated providers' URLs by kind, then name (``GET /_localcloud/simulators``, the state file)."""
        return {self.kinds[route]: fleet.urls() for route, fleet in self.fleets.items()}

    def admin(self, method: str, path: str, query: Mapping[str, list[str]]) -> tuple[int, Any] | None:
        if path == "/_localcloud/simulators":
            return 200, self.urls()
        parts = path.strip("/").split("/")  # _localcloud, providers[, name, action]
        fleet = self.fleets.get(parts[1]) if len(parts) > 1 else None
        if fleet is None:
            return None
        if len(parts) == 4 and method == "POST":
            return fleet.admin(parts[2], parts[3])
        return 200, fleet.status()
