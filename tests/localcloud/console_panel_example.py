"""An extension that adds two console panels, as an app would (localcloud/extensions.py, ``console_panels``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANEL_SCRIPT = Path(__file__).parent / "fixtures" / "console_panel.js"


class Panels:
    def __init__(self) -> None:
        self.count = 0

    def start(self, cloud: Any) -> None:
        return

    def stop(self) -> None:
        return

    def admin(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        if method == "GET" and path == "/_localcloud/example/rows":
            return 200, [{"name": "A1", "state": "held"}, {"name": "A2", "state": "free"}]
        return None

    def console_api(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any] | None
    ) -> tuple[int, Any] | None:
        if path == "/count" and method == "GET":
            return 200, {"count": self.count}
        if path == "/count" and method == "POST" and body is not None:
            if not isinstance(body.get("add"), int):
                return 422, {"detail": "add must be a whole number"}
            self.count += body["add"]
            return 200, {"count": self.count}
        return None

    def console_panels(self) -> list[dict[str, Any]]:
        return [
            {"id": "example-script", "title": "Example script", "script": str(PANEL_SCRIPT)},
            {"id": "example-rows", "title": "Example rows", "endpoint": "/_localcloud/example/rows"},
        ]
