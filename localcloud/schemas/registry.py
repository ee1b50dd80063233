"""The EventBridge Schema Registry API (service ``schemas``, REST-JSON, API version 2019-12-02), in memory.

Operations (paths and shapes from the Schema Registry API reference, and botocore's service model of it):
- registries: CreateRegistry (201; an existing name is a 409 ConflictException), DescribeRegistry, UpdateRegistry,
  DeleteRegistry (204; its schemas go with it), ListRegistries (``registryNamePrefix``, ``limit``/``nextToken``);
- schemas: CreateSchema (201; the registry must exist, an existing name is a 409 ConflictException), UpdateSchema,
  DescribeSchema (the latest version, or ``?schemaVersion=N``), DeleteSchema (204), ListSchemas (``VersionCount``,
  ``schemaNamePrefix``), ListSchemaVersions.
- Versions are "1", "2", ...: UpdateSchema makes a new version only when ``Content`` (compared as text) or ``Type``
  changes; a new description alone changes ``LastModified``, not the version.
- ``Type`` is ``OpenApi3`` or ``JSONSchemaDraft4``. ``Content`` (1-100,000 characters) must be a JSON object: for
  ``JSONSchemaDraft4`` a valid draft-4 schema (checked against the draft-4 meta-schema), for ``OpenApi3`` a document
  whose ``openapi`` is 3.x. Anything else is a 400 BadRequestException.
- Errors are ``{"Code", "Message"}`` with the status of their kind (400, 404, 409) and ``X-Amzn-ErrorType``.

Not emulated: discoverers, code bindings, resource policies, SearchSchemas, ExportSchema, DeleteSchemaVersion, tags
operations (tags given at creation are kept and returned). Those answer a 400 BadRequestException naming the route.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from localcloud.lambda_.runner import DEFAULT_ACCOUNT

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

REGISTRIES = re.compile(r"^/v1/registries/?$")
REGISTRY = re.compile(r"^/v1/registries/name/(?P<registry>[^/]+)/?$")
SCHEMAS = re.compile(r"^/v1/registries/name/(?P<registry>[^/]+)/schemas/?$")
SCHEMA = re.compile(r"^/v1/registries/name/(?P<registry>[^/]+)/schemas/name/(?P<schema>[^/]+)/?$")
VERSIONS = re.compile(r"^/v1/registries/name/(?P<registry>[^/]+)/schemas/name/(?P<schema>[^/]+)/versions/?$")
TYPES = ("OpenApi3", "JSONSchemaDraft4")
MAX_CONTENT = 100_000
MAX_DESCRIPTION = 256
MAX_LIMIT = 100
REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found", 409: "Conflict"}


class SchemasError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _not_found(message: str) -> SchemasError:
    return SchemasError(404, "NotFoundException", message)


def _bad_request(message: str) -> SchemasError:
    return SchemasError(400, "BadRequestException", message)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Version:
    number: int
    content: str
    type: str
    created: str


@dataclass
class _Schema:
    name: str
    arn: str
    description: str | None
    tags: dict[str, str]
    versions: list[_Version] = field(default_factory=list)
    last_modified: str = field(default_factory=_now)

    @property
    def latest(self) -> _Version:
        return self.versions[-1]


@dataclass
class _Registry:
    name: str
    arn: str
    description: str | None
    tags: dict[str, str]
    schemas: dict[str, _Schema] = field(default_factory=dict)


class SchemaRegistry:
    """Every registry of every region, for the cloud's one account."""

    def __init__(self) -> None:
        self._registries: dict[tuple[str, str], _Registry] = {}  # (region, name)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse, region: str) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            body = _body(environ)
            with self._lock:
                status, answer = self._route(region, path, method, query, body)
        except SchemasError as exc:
            payload = json.dumps({"Code": exc.code, "Message": exc.message}).encode()
            headers = [("Content-Type", "application/json"), ("X-Amzn-ErrorType", exc.code)]
            return _respond(start_response, exc.status, headers, payload)
        payload = b"" if status == 204 else json.dumps(answer).encode()
        return _respond(start_response, status, [("Content-Type", "application/json")], payload)

    # ---- routing ---------------------------------------------------------------------------------------------------
    def _route(
        self, region: str, path: str, method: str, query: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if REGISTRIES.match(path) and method == "GET":
            return 200, self._list_registries(region, query)
        if match := REGISTRY.match(path):
            name = match["registry"]
            if method == "POST":
                return 201, self._create_registry(region, name, body)
            registry = self._registry(region, name)
            if method == "GET":
                return 200, _registry_view(registry)
            if method == "PUT":
                registry.description = _description(body, registry.description)
                return 200, _registry_view(registry)
            if method == "DELETE":
                del self._registries[(region, name)]
                return 204, {}
        if (match := SCHEMAS.match(path)) and method == "GET":
            return 200, self._list_schemas(self._registry(region, match["registry"]), query)
        if match := SCHEMA.match(path):
            registry = self._registry(region, match["registry"])
            name = match["schema"]
            if method == "POST":
                return 201, self._create_schema(region, registry, name, body)
            schema = _schema(registry, name)
            if method == "PUT":
                return 200, self._update_schema(schema, body)
            if method == "GET":
                return 200, _describe(schema, query.get("schemaVersion"))
            if method == "DELETE":
                del registry.schemas[name]
                return 204, {}
        if (match := VERSIONS.match(path)) and method == "GET":
            schema = _schema(self._registry(region, match["registry"]), match["schema"])
            versions = [
                {"SchemaArn": schema.arn, "SchemaName": schema.name, "SchemaVersion": str(v.number), "Type": v.type}
                for v in schema.versions
            ]
            return 200, _page("SchemaVersions", versions, query)
        raise _bad_request(f"{method} {path} is not emulated by the local cloud")

    # ---- registries ------------------------------------------------------------------------------------------------
    def _registry(self, region: str, name: str) -> _Registry:
        registry = self._registries.get((region, name))
        if registry is None:
            raise _not_found(f"Registry with name {name} does not exist.")
        return registry

    def _create_registry(self, region: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if (region, name) in self._registries:
            raise SchemasError(409, "ConflictException", f"Registry with name {name} already exists.")
        arn = f"arn:aws:schemas:{region}:{DEFAULT_ACCOUNT}:registry/{name}"
        registry = _Registry(name, arn, _description(body, None), dict(body.get("tags") or {}))
        self._registries[(region, name)] = registry
        return _registry_view(registry)

    def _list_registries(self, region: str, query: dict[str, str]) -> dict[str, Any]:
        prefix = query.get("registryNamePrefix", "")
        items = [
            {"RegistryArn": r.arn, "RegistryName": r.name, "tags": r.tags}
            for (where, name), r in sorted(self._registries.items())
            if where == region and name.startswith(prefix)
        ]
        return _page("Registries", items, query)

    # ---- schemas ---------------------------------------------------------------------------------------------------
    def _create_schema(self, region: str, registry: _Registry, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if name in registry.schemas:
            raise SchemasError(409, "ConflictException", f"Schema with name {name} already exists.")
        content, kind = _content(body.get("Content")), _type(body.get("Type"))
        arn = f"arn:aws:schemas:{region}:{DEFAULT_ACCOUNT}:schema/{registry.name}/{name}"
        schema = _Schema(name, arn, _description(body, None), dict(body.get("tags") or {}))
        schema.versions.append(_Version(1, _checked(content, kind), kind, schema.last_modified))
        registry.schemas[name] = schema
        return _schema_view(schema, schema.latest)

    def _update_schema(self, schema: _Schema, body: dict[str, Any]) -> dict[str, Any]:
        latest = schema.latest
        content = latest.content if body.get("Content") is None else _content(body["Content"])
        kind = latest.type if body.get("Type") is None else _type(body["Type"])
        schema.description = _description(body, schema.description)
        schema.last_modified = _now()
        if content != latest.content or kind != latest.type:
            schema.versions.append(_Version(latest.number + 1, _checked(content, kind), kind, schema.last_modified))
        return _schema_view(schema, schema.latest)

    def _list_schemas(self, registry: _Registry, query: dict[str, str]) -> dict[str, Any]:
        prefix = query.get("schemaNamePrefix", "")
        items = [
            {
                "LastModified": s.last_modified,
                "SchemaArn": s.arn,
                "SchemaName": s.name,
                "tags": s.tags,
                "VersionCount": len(s.versions),
            }
            for name, s in sorted(registry.schemas.items())
            if name.startswith(prefix)
        ]
        return _page("Schemas", items, query)


# ---- helpers --------------------------------------------------------------------------------------------------------
def _body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return {}
    try:
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    except ValueError as exc:
        raise _bad_request("The request body is not JSON") from exc
    if not isinstance(body, dict):
        raise _bad_request("The request body is not a JSON object")
    return body


def _respond(start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    headers = [*headers, ("Content-Length", str(len(body))), ("X-Amzn-RequestId", str(uuid.uuid4()))]
    start_response(f"{status} {REASONS.get(status, '')}".strip(), headers)
    return [body]


def _schema(registry: _Registry, name: str) -> _Schema:
    schema = registry.schemas.get(name)
    if schema is None:
        raise _not_found(f"Schema with name {name} does not exist in registry {registry.name}.")
    return schema


def _description(body: dict[str, Any], current: str | None) -> str | None:
    description = body.get("Description", current)
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
        raise _bad_request(f"Description must be a string of at most {MAX_DESCRIPTION} characters")
    return description


def _type(value: Any) -> str:
    if value not in TYPES:
        raise _bad_request(f"Type must be one of {', '.join(TYPES)}")
    return str(value)


def _content(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_CONTENT:
        raise _bad_request(f"Content must be a string of 1 to {MAX_CONTENT} characters")
    return value


def _checked(content: str, kind: str) -> str:
    try:
        document = json.loads(content)
    except ValueError as exc:
        raise _bad_request("Content is not valid JSON") from exc
    if not isinstance(document, dict):
        raise _bad_request("Content must be a JSON object")
    if kind == "OpenApi3":
        if not str(document.get("openapi", "")).startswith("3."):
            raise _bad_request("Content of an OpenApi3 schema must be an OpenAPI 3 document")
        return content
    from jsonschema import Draft4Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft4Validator.check_schema(document)
    except SchemaError as exc:
        raise _bad_request(f"Content is not a valid JSONSchemaDraft4 schema: {exc.message}") from exc
    return content


def _describe(schema: _Schema, version: str | None) -> dict[str, Any]:
    if version is None:
        return _schema_view(schema, schema.latest, content=True)
    for candidate in schema.versions:
        if str(candidate.number) == version:
            return _schema_view(schema, candidate, content=True)
    raise _not_found(f"Schema {schema.name} has no version {version}.")


def _registry_view(registry: _Registry) -> dict[str, Any]:
    view: dict[str, Any] = {"RegistryArn": registry.arn, "RegistryName": registry.name, "tags": registry.tags}
    if registry.description is not None:
        view["Description"] = registry.description
    return view


def _schema_view(schema: _Schema, version: _Version, *, content: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "LastModified": schema.last_modified,
        "SchemaArn": schema.arn,
        "SchemaName": schema.name,
        "SchemaVersion": str(version.number),
        "tags": schema.tags,
        "Type": version.type,
        "VersionCreatedDate": version.created,
    }
    if schema.description is not None:
        view["Description"] = schema.description
    if content:
        view["Content"] = version.content
    return view


def _page(key: str, items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    try:
        limit = int(query.get("limit", MAX_LIMIT))
        start = int(query.get("nextToken", "0"))
    except ValueError as exc:
        raise _bad_request("limit and nextToken must be the values this API returned") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    answer: dict[str, Any] = {key: items[start : start + limit]}
    if start + limit < len(items):
        answer["NextToken"] = str(start + limit)
    return answer
