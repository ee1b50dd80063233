"""Event contracts (DESIGN.md, Rules: Events): every event type that is emitted, routed or consumed is exactly one
registered pydantic model (``marquee.messaging.events.EVENT_TYPES``) with a committed JSON Schema (docs/events/), and
every registered model is emitted somewhere.

- Emitted: every envelope is built by ``marquee.messaging.events.envelope`` from an ``EventData`` instance, so an
  emitted type is a model that some code under layers/ or functions/ constructs (a call ``Model(...)``, or the model as
  a value of a dispatch table such as the inbound webhooks' ``KINDS``). No code builds an ``Envelope`` by hand.
- Routed: the EventBridge rule patterns in infra/ (``detail_type=``), the notification templates (``NOTIFYING_EVENTS``)
  and what a webhook endpoint may subscribe to (``WEBHOOK_EVENT_TYPES``).
- Samples: every envelope in events/ (replayed by ``marquee invoke`` and the tests) is a valid event of its model.

Source files are read with ``ast``, never imported: a function's modules import each other by their own rules.
"""

from __future__ import annotations

import ast
import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from marquee.messaging.events import EVENT_TYPES, Envelope, EventData
from marquee.notifications.channels import NOTIFYING_EVENTS
from marquee.webhooks.events import WEBHOOK_EVENT_TYPES
from tools.event_schemas import SCHEMA_DIR, load_all_events

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common" / "python" / "marquee"
FUNCTIONS = ROOT / "functions"
INFRA = ROOT / "infra"

load_all_events()  # imports every module of the layer, so every @register has run


def _sources(*roots: Path) -> list[Path]:
    return sorted(path for root in roots for path in root.rglob("*.py") if "__pycache__" not in path.parts)


def _trees(*roots: Path) -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), filename=str(path))) for path in _sources(*roots)]


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _emitted_model_names() -> set[str]:
    """Class names constructed (``Model(...)``) or used as a value of a dict/tuple literal (a dispatch table)."""
    names: set[str] = set()
    for _path, tree in _trees(LAYER, FUNCTIONS):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (name := _name(node.func)):
                names.add(name)
            elif isinstance(node, ast.Dict | ast.Tuple):
                values = node.values if isinstance(node, ast.Dict) else node.elts
                names.update(name for value in values if (name := _name(value)))
    return names


def _concrete_event_models() -> list[type[EventData]]:
    found: list[type[EventData]] = []
    pending = list(EventData.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if isinstance(getattr(model, "event_type", None), str):
            found.append(model)
    return found


def _infra_constant(name: str) -> object:
    tree = ast.parse((INFRA / "constants.py").read_text())
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:
            return ast.literal_eval(node.value)
    raise AssertionError(f"infra/constants.py has no literal {name}")


def _infra_routed_types() -> dict[str, set[str]]:
    """Every ``detail_type=`` of an EventBridge rule pattern in infra/ (or ``detail_types=`` given to the bus-target
    helper), by file; each must be a literal list or an infra.constants name bound to one, so that this test can read
    it."""
    routed: dict[str, set[str]] = {}
    for path, tree in _trees(INFRA):
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in ("detail_type", "detail_types"):
                value = node.value
                if isinstance(value, ast.Call) and _name(value.func) == "list" and isinstance(value.args[0], ast.Name):
                    continue  # a helper passing its parameter on (infra/constructs/bus_target.py): its callers count
                if isinstance(value, ast.Attribute) and _name(value.value) == "constants":
                    types = _infra_constant(value.attr)
                else:
                    types = ast.literal_eval(value)  # a literal list; anything else fails here, on purpose
                assert isinstance(types, list | tuple) and all(isinstance(t, str) for t in types), path
                routed.setdefault(str(path.relative_to(ROOT)), set()).update(types)
    return routed


# ---- the registry -----------------------------------------------------------------------------------------------------
def test_every_event_model_is_registered_once_under_its_type() -> None:
    models = _concrete_event_models()
    assert models
    for model in models:
        assert EVENT_TYPES.get(model.event_type) is model, (
            f"{model.__qualname__} ({model.event_type}) is not the registered model of its type: "
            f"decorate it with @register, and let no other model claim {model.event_type!r}"
        )
    assert len({id(m) for m in EVENT_TYPES.values()}) == len(EVENT_TYPES)


def test_every_registered_type_has_its_committed_schema() -> None:
    committed = {path.name.removesuffix(".schema.json") for path in SCHEMA_DIR.glob("*.schema.json")}
    assert committed == set(EVENT_TYPES), "run `python -m tools.event_schemas` (and delete files of removed events)"


# ---- emitted <-> registered -------------------------------------------------------------------------------------------
def test_every_registered_model_is_emitted_by_some_code() -> None:
    emitted = _emitted_model_names()
    silent = sorted(t for t, model in EVENT_TYPES.items() if model.__name__ not in emitted)
    assert not silent, f"registered but emitted by nothing under layers/ or functions/: {silent}"


def test_envelopes_are_built_only_from_registered_models() -> None:
    """``envelope(data)`` takes the type from ``data``'s model, so no other code may build an ``Envelope`` itself."""
    by_hand = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _trees(LAYER, FUNCTIONS)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _name(node.func) == "Envelope" and path.name != "events.py"
    ]
    assert not by_hand, f"an Envelope built by hand (use marquee.messaging.events.envelope): {by_hand}"


# ---- routed/consumed -> registered ------------------------------------------------------------------------------------
def test_every_type_an_eventbridge_rule_routes_is_registered() -> None:
    routed = _infra_routed_types()
    assert routed, "no detail_type found in infra/: has the notification rule moved?"
    for path, types in routed.items():
        assert not types - set(EVENT_TYPES), f"{path} routes types with no registered model: {types - set(EVENT_TYPES)}"


def test_the_notification_rule_routes_exactly_the_events_that_have_a_template() -> None:
    rule = set(_infra_constant("NOTIFICATION_EVENT_TYPES"))  # type: ignore[call-overload]
    assert rule == set(NOTIFYING_EVENTS), "infra's NOTIFICATION_EVENT_TYPES and NOTIFYING_EVENTS disagree"
    assert not set(NOTIFYING_EVENTS) - set(EVENT_TYPES), "a notification template for an unregistered type"


def test_every_webhook_event_type_is_registered() -> None:
    assert not WEBHOOK_EVENT_TYPES - set(EVENT_TYPES), WEBHOOK_EVENT_TYPES - set(EVENT_TYPES)


def _data_fields(event_type: str) -> set[str]:
    return {field.alias or name for name, field in EVENT_TYPES[event_type].model_fields.items()}


@pytest.mark.parametrize("event_type", sorted(NOTIFYING_EVENTS))
def test_a_notification_template_uses_only_fields_of_its_event(event_type: str) -> None:
    """The router renders the template from the event's data and sends to ``data[template.recipient]``."""
    template = NOTIFYING_EVENTS[event_type]
    placeholders = {
        field
        for text in (template.subject, template.body)
        for _, field, _, _ in string.Formatter().parse(text)
        if field
    }
    fields = _data_fields(event_type)
    assert template.recipient in fields, f"{event_type} has no {template.recipient}: its notification has no recipient"
    assert placeholders <= fields, f"{event_type}'s template names fields its model lacks: {placeholders - fields}"


# ---- the sample events (events/, replayed by `marquee invoke` and the tests) -----------------------------------------
def _sample_envelopes(node: object) -> Iterator[dict[str, Any]]:
    """Every envelope in a sample, also inside a JSON string (an SQS body holding an EventBridge event)."""
    if isinstance(node, dict):
        if {"type", "tenantId", "correlationId", "data"} <= node.keys():
            yield node
        for value in node.values():
            yield from _sample_envelopes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _sample_envelopes(value)
    elif isinstance(node, str) and node.lstrip().startswith("{"):
        try:
            inner = json.loads(node)
        except ValueError:
            return
        yield from _sample_envelopes(inner)


def test_every_sample_event_is_a_valid_event_of_a_registered_type() -> None:
    checked = 0
    for path in sorted((ROOT / "events").rglob("*.json")):
        for sample in _sample_envelopes(json.loads(path.read_text())):
            name = f"{path.relative_to(ROOT)} ({sample['type']})"
            assert sample["type"] in EVENT_TYPES, f"{name}: no registered model"
            Envelope.model_validate(sample)
            EVENT_TYPES[sample["type"]].model_validate(sample["data"])
            checked += 1
    assert checked, "no sample event found under events/"
