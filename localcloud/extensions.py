"""The one extension hook: how an app adds its own pieces to the local cloud (simulators, admin routes).

The local cloud knows nothing of any app. An extension is an object with:
- ``start(cloud)``: called once the cloud's port and components are up, before health answers "running"; ``cloud`` is
  the :class:`localcloud.server.LocalCloud` (its ``settings`` give the host and the endpoint URL);
- ``stop()``: called when the cloud shuts down, after its work has drained;
- optionally ``admin(method, path, query)``: answers a request under ``/_localcloud/`` that the cloud does not serve
  itself, as ``(status, JSON body)``, or ``None`` to pass (then the next extension is asked, then 404);
- optionally ``ready()``: health answers "starting" while any extension is not ready;
- optionally ``console_panels()``: panels the app adds to the web console (``/_localcloud/console/``), a list of
  dicts, each with ``id`` (letters, digits, ``-``), ``title``, and one of:
  - ``script``: the path of an ES module file on disk, served by the console at
    ``/_localcloud/console/panels/<id>.js``; its ``render(element, console)`` draws the panel (``console.api(path)``
    fetches JSON, ``console.post(path, body)`` sends a mutating request with the console's token, ``console.args``
    are the page address's segments after the panel's id, ``#panel/<id>/<arg>/...``); ``render`` may return
    ``{onNote(note), dispose()}``: ``onNote`` gets each live note (``{kind, data}``) while the panel is shown, and
    ``dispose`` runs when the page changes;
  - ``endpoint``: a ``/_localcloud/...`` path answering JSON (such as the extension's own admin route), shown as a
    table (a list of objects) or as formatted JSON.
- optionally ``console_api(method, path, query, body)``: the extension's own console API, reached by panels at
  ``/_localcloud/console/api/x<path>`` (``console.api("x/...")``, ``console.post("x/...", body)``) behind the
  console's Host, Origin and token checks; ``query`` is a dict of last values, ``body`` the JSON object of a POST
  (else None); it answers ``(status, JSON body)`` (a status from 400 is shown as a problem with the body's
  ``detail``), or ``None`` to pass.

Extensions are named as ``module:attr`` (``python -m localcloud --extension pkg.mod:Factory``) or given to
``Settings(extensions=[...])`` as objects or the same strings; ``attr`` is called without arguments to make one.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

ADMIN_PREFIX = "/_localcloud/"


class Extension(Protocol):
    def start(self, cloud: LocalCloud) -> None: ...

    def stop(self) -> None: ...


class ExtensionError(ValueError):
    """An extension named ``module:attr`` that cannot be loaded."""


def load(spec: Extension | str) -> Extension:
    """An extension object from itself or from ``module:attr`` (``attr`` is called without arguments)."""
    if not isinstance(spec, str):
        return spec
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ExtensionError(f"an extension is named module:attr, not {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ExtensionError(f"cannot load the extension {spec!r}: {exc}") from exc
    try:
        extension = factory()
    except TypeError as exc:
        raise ExtensionError(f"cannot make the extension {spec!r} without arguments: {exc}") from exc
    if not (callable(getattr(extension, "start", None)) and callable(getattr(extension, "stop", None))):
        raise ExtensionError(f"the extension {spec!r} has no start(cloud) and stop()")
    return extension  # type: ignore[no-any-return]


def ready(extension: Extension) -> bool:
    check = getattr(extension, "ready", None)
    return bool(check()) if callable(check) else True


def admin(
    extension: Extension, method: str, path: str, query: Mapping[str, list[str]]
) -> tuple[int, Any] | None:
    handler = getattr(extension, "admin", None)
    if not callable(handler):
        return None
    answer: tuple[int, Any] | None = handler(method, path, query)
    return answer


def console_panels(extension: Extension) -> list[dict[str, Any]]:
    """The extension's console panels (see the module's docstring), or [] when it adds none."""
    panels = getattr(extension, "console_panels", None)
    if not callable(panels):
        return []
    return list(panels() or [])


def console_api(
    extension: Extension, method: str, path: str, query: Mapping[str, str], body: dict[str, Any] | None
) -> tuple[int, Any] | None:
    handler = getattr(extension, "console_api", None)
    if not callable(handler):
        return None
    answer: tuple[int, Any] | None = handler(method, path, query, body)
    return answer
