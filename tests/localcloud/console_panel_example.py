"""An extension that adds two console panels, as an app would (localcloud/extensions.py, ``console_panels``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANEL_SCRIPT = Path(__file__).parent / "fixtures" / "console_panel.js"


class Panels:
    def start(self, cloud: Any) -> None:
        return

    def stop(self) -> None:
        return

    def admin(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        if method == "GET" and path == "/_localcloud/example/rows":
            return 200, [{"name": "A1", "state": "held"}, {"name": "A2", "state": "free"}]
        return None

    def console_panels(self) -> list[dict[str, Any]]:
        return [
            {"id": "example-script", "title": "Example script", "script": str(PANEL_SCRIPT)},
            {"id": "example-rows", "title": "Example rows", "endpoint": "/_localcloud/example/rows"},
        ]
