"""Two pure functions of moto's request path, remembered instead of recomputed on every request.

Found by profiling GetItem and SendMessage on the local cloud (py-spy, docs/decisions.md 2026-12-05):
- ``method_names_from_class`` ran ``inspect.getmembers`` over the whole response class on every request, to check that
  the action is one of its methods (3 % of a GetItem). A class's methods are fixed once its module and its patches are
  loaded, which happens before its first request (localcloud.patches applies each patch at its module's import).
- ``camelcase_to_underscores`` (a character loop) ran for every action name and every queue attribute of every
  request. Its answer depends only on its argument; the cache is bounded, since some callers pass user-chosen names.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any


def install() -> None:
    from moto.core import utils

    replacements: dict[Callable[..., Any], Callable[..., Any]] = {
        utils.camelcase_to_underscores: functools.lru_cache(maxsize=4096)(utils.camelcase_to_underscores),
        utils.method_names_from_class: _per_class(utils.method_names_from_class),
    }
    # Modules imported before this ran (a test that imported moto first) bound the originals: rebind them too.
    for name, module in list(sys.modules.items()):
        if name == "moto" or name.startswith("moto."):
            for attribute, value in list(vars(module).items()):
                if callable(value) and value in replacements:
                    setattr(module, attribute, replacements[value])


def _per_class(method_names_from_class: Callable[[object], list[str]]) -> Callable[[object], list[str]]:
    known: dict[object, frozenset[str]] = {}

    @functools.wraps(method_names_from_class)
    def cached(clazz: object) -> Any:
        try:
            return known[clazz]
        except KeyError:
            names = known[clazz] = frozenset(method_names_from_class(clazz))  # callers only test membership
            return names

    return cached
