"""Write the JSON Schema of every registered event to docs/events/<Type>.schema.json.

    python -m tools.event_schemas          # (re)write the files
    python -m tools.event_schemas --check  # exit 1 if a committed file differs from its model

Every module of the ``marquee`` layer, subpackages included (``pkgutil.walk_packages``), is imported first, so that
each ``@register``ed event type is known, whichever package defines it. A test
(tests/unit/test_event_schemas.py) fails when a committed schema no longer matches its model.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "docs" / "events"
LAYER = ROOT / "layers" / "common" / "python"


def load_all_events() -> dict[str, dict[str, Any]]:
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    import marquee
    from marquee.messaging.events import EVENT_TYPES

    for module in pkgutil.walk_packages(marquee.__path__, "marquee."):
        importlib.import_module(module.name)
    return {name: schema_document(name, model) for name, model in sorted(EVENT_TYPES.items())}


def schema_document(name: str, model: Any) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:marquee:event:{name}:v{model.version}",
        "x-event-type": name,
        "x-event-version": model.version,
        **schema,
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    documents = load_all_events()
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, document in documents.items():
        path = SCHEMA_DIR / f"{name}.schema.json"
        text = render(document)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("stale event schemas (run `python -m tools.event_schemas`): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
