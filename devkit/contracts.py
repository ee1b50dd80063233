"""Contract governance (docs/design/06-contract-governance.md): the released contracts, the backward-compatibility
check against them, and the event schema registry.

- **Released contracts** are a committed snapshot: ``docs/contracts/released/events/<Type>.schema.json`` (each event
  type's JSON Schema) and ``docs/contracts/released/openapi.json``. ``marquee contracts release`` refreshes it from the
  current contracts (docs/events/, docs/openapi.json), and refuses while a change would break a released contract.
- **The check** (:func:`event_breaks`, :func:`openapi_breaks`) compares the current contracts with the released ones
  and lists every breaking change in words; tests/unit/test_contract_compat.py fails on any. What is breaking depends
  on who reads and who writes (:class:`Direction`): an API's responses are read by clients, its requests written by
  them, and an event is both read by consumers and re-read later by the current code (replays, DLQ redrives, the
  archive), so an event must stay valid both ways.
- **The registry**: :func:`publish` puts every event type's schema into the EventBridge schema registry
  ``marquee-events`` (type ``JSONSchemaDraft4``), one schema per type, a new version only when its content changed.
  ``marquee deploy`` calls it after the stack is up.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devkit.state import PROJECT_ROOT

EVENTS_DIR = PROJECT_ROOT / "docs" / "events"
OPENAPI_FILE = PROJECT_ROOT / "docs" / "openapi.json"
RELEASED_DIR = PROJECT_ROOT / "docs" / "contracts" / "released"
RELEASED_EVENTS_DIR = RELEASED_DIR / "events"
RELEASED_OPENAPI_FILE = RELEASED_DIR / "openapi.json"
REGISTRY_NAME = "marquee-events"
SCHEMA_SUFFIX = ".schema.json"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


# ---- the compatibility rules ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Direction:
    """Who relies on a schema. ``read``: someone reads what the new schema allows with the old schema's expectations
    (a response, an event): a field must not disappear, become optional or change type. ``write``: what was valid
    under the old schema must stay valid under the new one (a request, an event replayed): nothing may become newly
    required, an enum may not lose a value, a type may not narrow, a bound may not tighten."""

    read: bool
    write: bool


RESPONSE = Direction(read=True, write=False)
REQUEST = Direction(read=False, write=True)
EVENT = Direction(read=True, write=True)

LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")


def _pointer(document: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    values = schema["enum"] if "enum" in schema else [schema["const"]] if "const" in schema else None
    if values is not None:
        names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
        return {names.get(type(v), "object" if isinstance(v, dict) else "array") for v in values}
    if "properties" in schema:
        return {"object"}
    return {"any"}


def _covers(wider: set[str], narrower: set[str]) -> bool:
    """Does every value of a type in ``narrower`` have a type in ``wider``? (an integer is a number)"""
    if "any" in wider:
        return True
    return all(t in wider or (t == "integer" and "number" in wider) for t in narrower)


def _enum(schema: Mapping[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def _shown(types: set[str]) -> str:
    return " | ".join(sorted(types))


@dataclass
class SchemaDiff:
    """Breaking differences between two JSON Schemas (each resolved within its own document), in words."""

    old_document: Mapping[str, Any]
    new_document: Mapping[str, Any]
    direction: Direction
    breaks: list[str] = field(default_factory=list)
    _seen: set[tuple[int, int, str]] = field(default_factory=set)

    def _resolve(self, document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
        for _ in range(32):
            if "$ref" in schema:
                schema = {**_pointer(document, schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}
            elif isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1 and "properties" not in schema:
                schema = {**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}
            else:
                return schema
        raise ValueError("a $ref chain longer than 32")

    def _alternatives(self, document: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The schema as a list of alternatives (anyOf/oneOf flattened), each resolved."""
        schema = self._resolve(document, schema)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return [alt for option in schema[key] for alt in self._alternatives(document, option)]
        return [schema]

    def compare(self, old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[str]:
        seen = (id(old), id(new), where.rsplit(".", 1)[-1])
        if seen in self._seen or len(where) > 2000:  # recursive schemas: each pair once
            return self.breaks
        self._seen.add(seen)
        old_alts = self._alternatives(self.old_document, old)
        new_alts = self._alternatives(self.new_document, new)
        old_types = set().union(*(_types(s) for s in old_alts))
        new_types = set().union(*(_types(s) for s in new_alts))
        if (self.direction.write and not _covers(new_types, old_types)) or (
            self.direction.read and not _covers(old_types, new_types)
        ):
            self.breaks.append(f"{where}: type changed from {_shown(old_types)} to {_shown(new_types)}")
            return self.breaks
        self._enums(old_alts, new_alts, where)
        old_shapes = [s for s in old_alts if _types(s) != {"null"}]
        new_shapes = [s for s in new_alts if _types(s) != {"null"}]
        if len(old_shapes) == 1 and len(new_shapes) == 1:
            self._shape(old_shapes[0], new_shapes[0], where)
        else:  # a union of several shapes: compare the ones that carry the same title
            titled = {s.get("title"): s for s in new_shapes if s.get("title")}
            for shape in old_shapes:
                if shape.get("title") in titled:
                    self._shape(shape, titled[shape["title"]], where)
        return self.breaks

    def _enums(self, old_alts: list[Mapping[str, Any]], new_alts: list[Mapping[str, Any]], where: str) -> None:
        if not self.direction.write:
            return  # a reader meets a new value as it meets any unknown value: readers must tolerate them
        old_values = [v for s in old_alts if (e := _enum(s)) is not None for v in e]
        new_values = [v for s in new_alts if (e := _enum(s)) is not None for v in e]
        old_open = any(_enum(s) is None and _types(s) != {"null"} for s in old_alts)
        new_open = any(_enum(s) is None and _types(s) != {"null"} for s in new_alts)
        if new_open:
            return
        lost = [v for v in old_values if v not in new_values]
        if old_open:
            self.breaks.append(f"{where}: now limited to the values {new_values}")
        elif lost:
            self.breaks.append(f"{where}: enum narrowed, {lost} no longer accepted")

    def _shape(self, old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> None:
        if self.direction.write:
            self._bounds(old, new, where)
        if "object" in _types(old) and "object" in _types(new):
            self._object(old, new, where)
        if "array" in _types(old) and "array" in _types(new) and "items" in old and "items" in new:
            self.compare(old["items"], new["items"], f"{where}[]")

    def _bounds(self, old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> None:
        for key in LOWER_BOUNDS + UPPER_BOUNDS:
            if key not in new or isinstance(new[key], bool):
                continue
            tighter = key not in old or (new[key] > old[key] if key in LOWER_BOUNDS else new[key] < old[key])
            if tighter:
                self.breaks.append(f"{where}: {key} tightened from {old.get(key, 'none')} to {new[key]}")
        if new.get("pattern") is not None and new.get("pattern") != old.get("pattern"):
            self.breaks.append(f"{where}: pattern changed from {old.get('pattern')!r} to {new['pattern']!r}")

    def _object(self, old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> None:
        old_props: Mapping[str, Any] = old.get("properties", {})
        new_props: Mapping[str, Any] = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        closed = new.get("additionalProperties") is False
        for name in old_props:
            if name in new_props:
                self.compare(old_props[name], new_props[name], f"{where}.{name}")
            elif self.direction.read:
                self.breaks.append(f"{where}.{name}: field removed")
            elif closed:
                self.breaks.append(f"{where}.{name}: field removed, and unknown fields are refused")
        if self.direction.write:
            for name in sorted(new_required - old_required):
                self.breaks.append(f"{where}.{name}: newly required")
            if closed and old.get("additionalProperties") is not False:
                self.breaks.append(f"{where}: now refuses unknown fields")
        if self.direction.read:
            for name in sorted((old_required - new_required) & set(new_props)):
                self.breaks.append(f"{where}.{name}: no longer required (readers rely on it)")
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.compare(old_extra, new_extra, f"{where}.*")


# ---- events -----------------------------------------------------------------------------------------------------------
def event_breaks(released: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every breaking change from the released event schemas (by type) to the current ones. A new type is fine."""
    breaks: list[str] = []
    for name, old in sorted(released.items()):
        new = current.get(name)
        if new is None:
            breaks.append(f"{name}: event type removed (its consumers and stored events still name it)")
            continue
        old_version, new_version = old.get("x-event-version"), new.get("x-event-version")
        if old_version != new_version:
            breaks.append(
                f"{name}: version {old_version} is no longer published (now {new_version}); publish the new shape "
                "as a new type beside the released one for the deprecation window"
            )
            continue
        breaks += SchemaDiff(old, new, EVENT).compare(old, new, f"{name} data")
    return breaks


def read_event_schemas(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(SCHEMA_SUFFIX): json.loads(path.read_text())
        for path in sorted(directory.glob(f"*{SCHEMA_SUFFIX}"))
    }


def current_event_schemas() -> dict[str, dict[str, Any]]:
    """Every registered event type's schema document, from the models (tools.event_schemas)."""
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    from tools.event_schemas import load_all_events

    return load_all_events()


# ---- the HTTP API -----------------------------------------------------------------------------------------------------
def _operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def openapi_breaks(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Every breaking change from the released OpenAPI document to the current one: a removed path, operation,
    response code or response media type; a parameter or request field newly required; a type changed; a response
    field removed. New paths, operations, optional parameters and response fields are fine."""
    breaks: list[str] = []
    current = {(path, method): operation for path, method, operation in _operations(new)}
    for path, method, old_op in _operations(old):
        label = f"{method.upper()} {path}"
        new_op = current.get((path, method))
        if new_op is None:
            breaks.append(f"{label}: operation removed")
            continue
        breaks += _parameter_breaks(old, new, old_op, new_op, label)
        breaks += _body_breaks(old, new, old_op, new_op, label)
        for code, old_response in old_op.get("responses", {}).items():
            new_response = new_op.get("responses", {}).get(code)
            if new_response is None:
                breaks.append(f"{label}: response {code} removed")
                continue
            for media, old_content in old_response.get("content", {}).items():
                new_content = new_response.get("content", {}).get(media)
                if new_content is None:
                    breaks.append(f"{label}: response {code} no longer answers {media}")
                elif "schema" in old_content and "schema" in new_content:
                    breaks += SchemaDiff(old, new, RESPONSE).compare(
                        old_content["schema"], new_content["schema"], f"{label} {code} body"
                    )
    return breaks


def _parameter_breaks(
    old: Mapping[str, Any], new: Mapping[str, Any], old_op: Mapping[str, Any], new_op: Mapping[str, Any], label: str
) -> list[str]:
    def by_key(document: Mapping[str, Any], operation: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
        found = {}
        for parameter in operation.get("parameters", []):
            if "$ref" in parameter:
                parameter = _pointer(document, parameter["$ref"])
            found[(parameter["in"], parameter["name"])] = parameter
        return found

    breaks: list[str] = []
    old_params, new_params = by_key(old, old_op), by_key(new, new_op)
    for key, parameter in sorted(new_params.items()):
        was = old_params.get(key)
        where = f"{label} {key[0]} parameter {key[1]}"
        if parameter.get("required") and not (was and was.get("required")):
            breaks.append(f"{where}: newly required")
        if was and "schema" in was and "schema" in parameter:
            breaks += SchemaDiff(old, new, REQUEST).compare(was["schema"], parameter["schema"], where)
    return breaks


def _body_breaks(
    old: Mapping[str, Any], new: Mapping[str, Any], old_op: Mapping[str, Any], new_op: Mapping[str, Any], label: str
) -> list[str]:
    old_body, new_body = old_op.get("requestBody"), new_op.get("requestBody")
    if new_body is None:
        return []
    if old_body is None:
        return [f"{label}: a request body is now required"] if new_body.get("required") else []
    newly_required = bool(new_body.get("required")) and not old_body.get("required")
    breaks = [f"{label}: the request body is now required"] if newly_required else []
    for media, old_content in old_body.get("content", {}).items():
        new_content = new_body.get("content", {}).get(media)
        if new_content is None:
            breaks.append(f"{label}: the request body is no longer accepted as {media}")
        elif "schema" in old_content and "schema" in new_content:
            breaks += SchemaDiff(old, new, REQUEST).compare(old_content["schema"], new_content["schema"], f"{label} body")
    return breaks


# ---- released snapshot ------------------------------------------------------------------------------------------------
class BreakingChange(Exception):
    def __init__(self, breaks: list[str]) -> None:
        super().__init__("breaking changes against the released contracts:\n  " + "\n  ".join(breaks))
        self.breaks = breaks


def all_breaks() -> list[str]:
    """The current contracts (the models' event schemas, the committed docs/openapi.json) against the released ones."""
    breaks = event_breaks(read_event_schemas(RELEASED_EVENTS_DIR), current_event_schemas())
    released_api = json.loads(RELEASED_OPENAPI_FILE.read_text())
    return breaks + openapi_breaks(released_api, json.loads(OPENAPI_FILE.read_text()))


def release(*, accept_breaking: bool = False) -> dict[str, Any]:
    """Make the current contracts the released ones: copy docs/events/*.schema.json and docs/openapi.json into
    docs/contracts/released/. Refused while a change breaks a released contract, unless ``accept_breaking`` (the
    deprecation window of what is dropped is over). Returns what changed."""
    breaks = all_breaks()
    if breaks and not accept_breaking:
        raise BreakingChange(breaks)
    before = set(read_event_schemas(RELEASED_EVENTS_DIR))
    RELEASED_EVENTS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in RELEASED_EVENTS_DIR.glob(f"*{SCHEMA_SUFFIX}"):
        stale.unlink()
    for path in sorted(EVENTS_DIR.glob(f"*{SCHEMA_SUFFIX}")):
        shutil.copyfile(path, RELEASED_EVENTS_DIR / path.name)
    shutil.copyfile(OPENAPI_FILE, RELEASED_OPENAPI_FILE)
    after = set(read_event_schemas(RELEASED_EVENTS_DIR))
    return {"added": sorted(after - before), "dropped": sorted(before - after), "acceptedBreaks": breaks}


# ---- what travels on the bus: the envelope with one type's data -------------------------------------------------------
DATA_KEYS_DROPPED = ("$schema", "$id", "$defs", "x-event-type", "x-event-version")
# Envelope fields added after events were first published: written on every new event (null when unknown), absent
# from older ones (an archive replays those), so never required.
OPTIONAL_ENVELOPE_FIELDS = ("requestId",)


def envelope_schema(name: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a whole ``name`` event as it travels (the EventBridge ``detail``): the envelope
    (``marquee.messaging.events.Envelope``, every field as ``to_json`` writes them, all required but the
    ``OPTIONAL_ENVELOPE_FIELDS`` added later) with ``type`` and
    ``version`` fixed and ``data`` this type's schema, which goes under ``$defs`` with the definitions it uses."""
    from devkit.layer import use_layer

    use_layer()
    from marquee.messaging.events import Envelope

    envelope: dict[str, Any] = Envelope.model_json_schema(by_alias=True, mode="serialization")
    properties = dict(envelope["properties"])
    properties["type"] = {"const": name, "type": "string"}
    properties["version"] = {"const": document["x-event-version"], "type": "integer"}
    properties["data"] = {"$ref": f"#/$defs/{name}"}
    data = {k: v for k, v in document.items() if k not in DATA_KEYS_DROPPED}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:marquee:event-envelope:{name}:v{document['x-event-version']}",
        "title": f"{name} event",
        "description": f"The {name} event as it travels on the bus (the EventBridge detail): the envelope, its data.",
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in OPTIONAL_ENVELOPE_FIELDS],
        "$defs": {**document.get("$defs", {}), name: data},
        "x-event-type": name,
        "x-event-version": document["x-event-version"],
    }


def to_draft4(schema: Any) -> Any:
    """A 2020-12 schema as JSON Schema draft 4, the registry's ``JSONSchemaDraft4``: ``$defs`` become ``definitions``
    (and their references follow), ``const`` an ``enum`` of one, a numeric ``exclusiveMinimum``/``exclusiveMaximum``
    the draft-4 pair of bound and boolean, ``$id`` ``id``."""
    if isinstance(schema, list):
        return [to_draft4(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema":
            converted[key] = "http://json-schema.org/draft-04/schema#"
        elif key == "$id":
            converted["id"] = value
        elif key == "$defs":
            converted["definitions"] = {name: to_draft4(sub) for name, sub in value.items()}
        elif key == "$ref" and isinstance(value, str):
            converted[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "const":
            converted["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            converted["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            converted[key] = True
        elif key in ("properties", "patternProperties", "dependentSchemas"):
            converted[key] = {name: to_draft4(sub) for name, sub in value.items()}
        else:
            converted[key] = to_draft4(value)
    return converted


def registry_content(name: str, document: Mapping[str, Any]) -> str:
    """The text published for ``name``: its envelope schema in draft 4, keys sorted (the same schema, the same text)."""
    return json.dumps(to_draft4(envelope_schema(name, document)), sort_keys=True, separators=(",", ":"))


# ---- the schema registry ----------------------------------------------------------------------------------------------
def publish(
    client: Any, documents: Mapping[str, Mapping[str, Any]] | None = None, *, registry: str = REGISTRY_NAME
) -> dict[str, dict[str, str]]:
    """Publish every event type's schema to the EventBridge schema registry ``registry`` (created if missing) with
    the boto3 ``schemas`` client ``client``: CreateSchema for a new type, UpdateSchema when its content differs from
    the latest version, nothing when it is the same, so an unchanged schema never makes a version. Returns, by type,
    ``{"action": "created" | "updated" | "unchanged", "version": ...}``."""
    documents = current_event_schemas() if documents is None else documents
    try:
        client.create_registry(
            RegistryName=registry, Description="Marquee's domain events: the detail of each type on the bus"
        )
    except client.exceptions.ConflictException:
        pass
    published: dict[str, dict[str, str]] = {}
    for name, document in sorted(documents.items()):
        content = registry_content(name, document)
        description = f"{name} v{document['x-event-version']} (docs/events/{name}{SCHEMA_SUFFIX})"
        try:
            latest = client.describe_schema(RegistryName=registry, SchemaName=name)
        except client.exceptions.NotFoundException:
            created = client.create_schema(
                RegistryName=registry, SchemaName=name, Type="JSONSchemaDraft4", Content=content, Description=description
            )
            published[name] = {"action": "created", "version": created["SchemaVersion"]}
            continue
        if latest.get("Content") == content and latest.get("Type") == "JSONSchemaDraft4":
            published[name] = {"action": "unchanged", "version": latest["SchemaVersion"]}
            continue
        updated = client.update_schema(
            RegistryName=registry, SchemaName=name, Type="JSONSchemaDraft4", Content=content, Description=description
        )
        published[name] = {"action": "updated", "version": updated["SchemaVersion"]}
    return published
