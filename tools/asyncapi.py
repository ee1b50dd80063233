"""Write the AsyncAPI 3.0 document of the event bus to docs/asyncapi.json, from the registered event models.

    python -m tools.asyncapi          # (re)write docs/asyncapi.json
    python -m tools.asyncapi --check  # exit 1 if the committed file differs from the models

One channel, the stack's EventBridge bus, carries every registered event type as a message. A message's payload is
the whole event as it travels (the EventBridge ``detail``): the envelope, with ``type`` and ``version`` fixed and
``data`` that type's schema (``devkit.contracts.envelope_schema``, the schema the registry gets too). The operations
are the outbox relay's send of every type, and the receives of the two consumers whose subscriptions the code names:
the notifications router (``NOTIFYING_EVENTS``) and the webhooks fan-out (``WEBHOOK_EVENT_TYPES``).
tests/unit/test_asyncapi.py fails when the committed document is stale.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from devkit.contracts import envelope_schema
from tools.event_schemas import ROOT, load_all_events

ASYNCAPI_FILE = ROOT / "docs" / "asyncapi.json"
CHANNEL = "bus"


def _components_refs(schema: Any) -> Any:
    """``#/$defs/X`` references point at ``#/components/schemas/X`` (a payload's references resolve in the document)."""
    if isinstance(schema, list):
        return [_components_refs(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: value.replace("#/$defs/", "#/components/schemas/") if key == "$ref" else _components_refs(value)
        for key, value in schema.items()
    }


def build() -> dict[str, Any]:
    documents = load_all_events()
    from marquee.notifications.channels import NOTIFYING_EVENTS
    from marquee.webhooks.events import WEBHOOK_EVENT_TYPES

    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name, document in documents.items():
        envelope = envelope_schema(name, document)
        for definition, schema in envelope.pop("$defs").items():
            schema = _components_refs(schema)
            if schemas.setdefault(definition, schema) != schema:
                raise ValueError(f"two event schemas define {definition!r} differently: rename one model")
        payload = {k: v for k, v in envelope.items() if k not in ("$schema", "$id")}
        schemas[f"{name}Event"] = _components_refs(payload)
        messages[name] = {
            "name": name,
            "title": name,
            "summary": document.get("description", f"The {name} event."),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}Event"},
        }

    def refs(names: object) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/{CHANNEL}/messages/{n}"} for n in sorted(documents) if n in names]  # type: ignore[operator]

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Marquee events",
            "version": "1.0.0",
            "description": (
                "The domain events on Marquee's EventBridge bus. Each is the detail of a bus event whose detail-type "
                "is the event type; consumers dedupe on the envelope's id. JSON Schemas: docs/events/; the schema "
                "registry marquee-events holds each type's versions; compatibility rules: "
                "docs/design/06-contract-governance.md."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": None,
                "title": "The event bus",
                "description": (
                    "The stack's EventBridge bus (its name is the stack output EventBusName). The outbox relay puts "
                    "each event with the detail-type of its type."
                ),
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in sorted(documents)},
            }
        },
        "operations": {
            "publishEvents": {
                "action": "send",
                "title": "The outbox relay publishes every domain event",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": refs(documents),
            },
            "notifyCustomers": {
                "action": "receive",
                "title": "The notifications router (functions/notifications/router.py)",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": refs(NOTIFYING_EVENTS),
            },
            "fanOutWebhooks": {
                "action": "receive",
                "title": "The webhooks fan-out (functions/webhooks_fanout)",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": refs(WEBHOOK_EVENT_TYPES),
            },
        },
        "components": {"schemas": dict(sorted(schemas.items())), "messages": messages},
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    text = render(build())
    if check:
        if not ASYNCAPI_FILE.exists() or ASYNCAPI_FILE.read_text() != text:
            print("docs/asyncapi.json is stale: run `python -m tools.asyncapi`")
            return 1
        return 0
    ASYNCAPI_FILE.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
