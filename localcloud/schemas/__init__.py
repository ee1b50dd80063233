"""The EventBridge Schema Registry (the ``schemas`` service), which moto lacks, served by the local cloud.

Requests signed for ``schemas`` (or sent to its host) under ``/v1/registries`` go to :mod:`localcloud.schemas.registry`,
imported on the first such request: importing this package imports nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.schemas.registry import SchemaRegistry

__all__ = ["SchemasService", "handles"]

PREFIX = "/v1/registries"


def handles(environ: dict[str, Any], path: str) -> bool:
    """Is this a Schema Registry call: under ``/v1/registries``, signed for ``schemas`` (or sent to its host)?"""
    if not path.startswith(PREFIX):
        return False
    return "/schemas/aws4_request" in environ.get("HTTP_AUTHORIZATION", "") or environ.get("HTTP_HOST", "").startswith(
        "schemas."
    )


class SchemasService:
    """The cloud's schema registries, made on first use; forgotten by :meth:`reset`."""

    def __init__(self) -> None:
        self._registry: SchemaRegistry | None = None
        self._lock = threading.Lock()

    @property
    def registry(self) -> SchemaRegistry:
        with self._lock:
            if self._registry is None:
                from localcloud.schemas.registry import SchemaRegistry

                self._registry = SchemaRegistry()
            return self._registry

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any], region: str
    ) -> Iterable[bytes]:
        return self.registry(environ, start_response, region)

    def reset(self) -> None:
        with self._lock:
            self._registry = None
