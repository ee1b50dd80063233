"""Parity tests for the EventBridge Schema Registry on the local cloud (localcloud/schemas/), through boto3's
``schemas`` client.

The AWS documentation followed: the Amazon EventBridge Schema Registry API Reference (the resources
``/v1/registries``, ``/v1/registries/name/{registryName}``, ``.../schemas``, ``.../schemas/name/{schemaName}`` and
``.../versions``: their methods, status codes and shapes RegistryOutput, SchemaOutput, DescribeSchemaOutput,
SchemaSummary, SchemaVersionSummary, ErrorOutput), botocore's service model ``schemas`` 2019-12-02 (the same shapes:
``Content`` 1-100,000 characters, ``Type`` OpenApi3 | JSONSchemaDraft4, errors carrying ``Code`` and ``Message``), and
the EventBridge User Guide's "Creating an event schema" (OpenAPI 3 or JSONSchema Draft 4 documents).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

DRAFT4: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {"orderId": {"type": "string"}},
    "required": ["orderId"],
}
OPENAPI3: dict[str, Any] = {
    "openapi": "3.0.0",
    "info": {"version": "1.0.0", "title": "Event"},
    "paths": {},
    "components": {"schemas": {"Event": {"type": "object", "properties": {"name": {"type": "string"}}}}},
}


@pytest.fixture
def schemas(aws: Callable[[str], Any]) -> Any:
    return aws("schemas")


@pytest.fixture
def registry(schemas: Any) -> str:
    name = f"reg-{uuid.uuid4().hex[:8]}"
    schemas.create_registry(RegistryName=name, Description="test events", Tags={"team": "booking"})
    return name


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Code"]


def test_create_registry_answers_its_arn_and_a_second_create_is_a_conflict(schemas: Any) -> None:
    """CreateRegistry: 201 RegistryOutput; ConflictException (409) for an existing name."""
    name = f"reg-{uuid.uuid4().hex[:8]}"
    created = schemas.create_registry(RegistryName=name, Description="d", Tags={"k": "v"})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["RegistryArn"] == f"arn:aws:schemas:us-east-1:123456789012:registry/{name}"
    assert (created["RegistryName"], created["Description"], created["Tags"]) == (name, "d", {"k": "v"})
    with pytest.raises(ClientError) as exc:
        schemas.create_registry(RegistryName=name)
    assert _error(exc) == (409, "ConflictException", "ConflictException")
    described = schemas.describe_registry(RegistryName=name)
    assert described["RegistryArn"] == created["RegistryArn"]
    assert name in [r["RegistryName"] for r in schemas.list_registries(RegistryNamePrefix="reg-")["Registries"]]


def test_an_unknown_registry_or_schema_is_not_found(schemas: Any, registry: str) -> None:
    """DescribeRegistry, DescribeSchema, UpdateSchema, ListSchemaVersions: NotFoundException (404)."""
    with pytest.raises(ClientError) as exc:
        schemas.describe_registry(RegistryName=f"missing-{uuid.uuid4().hex[:6]}")
    assert _error(exc) == (404, "NotFoundException", "NotFoundException")
    for call in (schemas.describe_schema, schemas.list_schema_versions):
        with pytest.raises(ClientError) as exc:
            call(RegistryName=registry, SchemaName="Missing")
        assert _error(exc)[:2] == (404, "NotFoundException")
    with pytest.raises(ClientError) as exc:
        schemas.update_schema(RegistryName=registry, SchemaName="Missing", Content=json.dumps(DRAFT4))
    assert _error(exc)[:2] == (404, "NotFoundException")
    with pytest.raises(ClientError) as exc:
        schemas.create_schema(
            RegistryName=f"missing-{uuid.uuid4().hex[:6]}", SchemaName="S", Type="OpenApi3", Content="{}"
        )
    assert _error(exc)[:2] == (404, "NotFoundException")


def test_create_schema_is_version_1_and_describe_returns_its_content(schemas: Any, registry: str) -> None:
    """CreateSchema: 201 SchemaOutput, SchemaVersion "1"; DescribeSchema returns Content, the latest version."""
    content = json.dumps(DRAFT4)
    created = schemas.create_schema(
        RegistryName=registry, SchemaName="OrderConfirmed", Type="JSONSchemaDraft4", Content=content, Description="d"
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["SchemaArn"] == f"arn:aws:schemas:us-east-1:123456789012:schema/{registry}/OrderConfirmed"
    assert (created["SchemaVersion"], created["Type"], created["Description"]) == ("1", "JSONSchemaDraft4", "d")
    assert created["VersionCreatedDate"] and created["LastModified"]
    described = schemas.describe_schema(RegistryName=registry, SchemaName="OrderConfirmed")
    assert (described["Content"], described["SchemaVersion"]) == (content, "1")
    with pytest.raises(ClientError) as exc:
        schemas.create_schema(RegistryName=registry, SchemaName="OrderConfirmed", Type="OpenApi3", Content=content)
    assert _error(exc)[:2] == (409, "ConflictException")


def test_update_schema_makes_a_version_only_when_the_content_changes(schemas: Any, registry: str) -> None:
    """UpdateSchema: a changed Content is the next SchemaVersion; the same Content (a new description only) keeps the
    version. ListSchemaVersions lists each version; DescribeSchema ?schemaVersion= returns an older one."""
    first = json.dumps(DRAFT4)
    schemas.create_schema(RegistryName=registry, SchemaName="Evt", Type="JSONSchemaDraft4", Content=first)
    same = schemas.update_schema(RegistryName=registry, SchemaName="Evt", Content=first, Description="now described")
    assert (same["SchemaVersion"], same["Description"]) == ("1", "now described")
    second = json.dumps({**DRAFT4, "properties": {**DRAFT4["properties"], "seats": {"type": "integer"}}})
    changed = schemas.update_schema(RegistryName=registry, SchemaName="Evt", Content=second, Type="JSONSchemaDraft4")
    assert changed["SchemaVersion"] == "2"
    versions = schemas.list_schema_versions(RegistryName=registry, SchemaName="Evt")["SchemaVersions"]
    assert [v["SchemaVersion"] for v in versions] == ["1", "2"]
    assert {v["Type"] for v in versions} == {"JSONSchemaDraft4"}
    old = schemas.describe_schema(RegistryName=registry, SchemaName="Evt", SchemaVersion="1")
    assert old["Content"] == first
    with pytest.raises(ClientError) as exc:
        schemas.describe_schema(RegistryName=registry, SchemaName="Evt", SchemaVersion="9")
    assert _error(exc)[:2] == (404, "NotFoundException")
    listed = schemas.list_schemas(RegistryName=registry)["Schemas"]
    assert [(s["SchemaName"], s["VersionCount"]) for s in listed] == [("Evt", 2)]


def test_content_must_be_a_schema_of_its_type(schemas: Any, registry: str) -> None:
    """Content is an OpenAPI 3 or JSONSchema Draft 4 document (the User Guide's two formats); anything else, an
    unknown Type, or Content over 100,000 characters is a BadRequestException (400)."""
    schemas.create_schema(RegistryName=registry, SchemaName="Api", Type="OpenApi3", Content=json.dumps(OPENAPI3))
    bad = [
        ("JSONSchemaDraft4", "not json"),
        ("JSONSchemaDraft4", json.dumps({"type": "object", "required": "orderId"})),  # draft 4: required is a list
        ("OpenApi3", json.dumps(DRAFT4)),
        ("Avro", json.dumps(DRAFT4)),
        ("JSONSchemaDraft4", json.dumps({"description": "x" * 100_001})),
    ]
    for index, (kind, content) in enumerate(bad):
        with pytest.raises(ClientError) as exc:
            schemas.create_schema(RegistryName=registry, SchemaName=f"Bad{index}", Type=kind, Content=content)
        assert _error(exc)[:2] == (400, "BadRequestException"), (kind, content[:40])
    assert [s["SchemaName"] for s in schemas.list_schemas(RegistryName=registry)["Schemas"]] == ["Api"]


def test_list_schemas_pages_with_limit_and_next_token(schemas: Any, registry: str) -> None:
    """ListSchemas: Limit and NextToken page through the registry; SchemaNamePrefix filters."""
    for name in ("a.One", "a.Two", "b.Three"):
        schemas.create_schema(RegistryName=registry, SchemaName=name, Type="OpenApi3", Content=json.dumps(OPENAPI3))
    first = schemas.list_schemas(RegistryName=registry, Limit=2)
    assert [s["SchemaName"] for s in first["Schemas"]] == ["a.One", "a.Two"]
    rest = schemas.list_schemas(RegistryName=registry, Limit=2, NextToken=first["NextToken"])
    assert [s["SchemaName"] for s in rest["Schemas"]] == ["b.Three"] and "NextToken" not in rest
    paginated = schemas.get_paginator("list_schemas").paginate(RegistryName=registry, PaginationConfig={"PageSize": 1})
    assert [s["SchemaName"] for page in paginated for s in page["Schemas"]] == ["a.One", "a.Two", "b.Three"]
    assert [s["SchemaName"] for s in schemas.list_schemas(RegistryName=registry, SchemaNamePrefix="b.")["Schemas"]] == [
        "b.Three"
    ]


def test_delete_schema_and_registry(schemas: Any, registry: str) -> None:
    """DeleteSchema and DeleteRegistry: 204, then NotFoundException."""
    schemas.create_schema(RegistryName=registry, SchemaName="Gone", Type="OpenApi3", Content=json.dumps(OPENAPI3))
    deleted = schemas.delete_schema(RegistryName=registry, SchemaName="Gone")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        schemas.describe_schema(RegistryName=registry, SchemaName="Gone")
    assert _error(exc)[:2] == (404, "NotFoundException")
    assert schemas.delete_registry(RegistryName=registry)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        schemas.describe_registry(RegistryName=registry)
    assert _error(exc)[:2] == (404, "NotFoundException")
