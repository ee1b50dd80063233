"""A minimal local cloud extension (localcloud/extensions.py), for test_extensions.py: what any app's could look like."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


class Greeter:
    def __init__(self) -> None:
        self.started_on: int | None = None
        self.state_dir: Path | None = None

    def start(self, cloud: Any) -> None:
        self.started_on = cloud.settings.port
        self.state_dir = cloud.settings.state_dir

    def ready(self) -> bool:
        return self.started_on is not None

    def stop(self) -> None:
        if self.state_dir is not None:
            (self.state_dir / "greeter-stopped").write_text("bye")

    def admin(self, method: str, path: str, query: Mapping[str, list[str]]) -> tuple[int, Any] | None:
        if path == "/_localcloud/greeting":
            return 200, {"hello": self.started_on, "method": method, "name": query.get("name", ["?"])[-1]}
        return None
