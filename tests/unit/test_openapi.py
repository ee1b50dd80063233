"""docs/openapi.json is what the code says: regenerate with `python -m tools.openapi` when a route changes."""

from __future__ import annotations

import json

from tools import openapi


def test_the_committed_document_matches_the_routes() -> None:
    assert openapi.main(["--check"]) == 0, "docs/openapi.json is stale: run `python -m tools.openapi`"


def test_every_operation_answers_problem_json_on_errors_and_declares_its_success() -> None:
    document = json.loads(openapi.OPENAPI_FILE.read_text())
    assert document["openapi"] == "3.1.0"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (method, path)
            for code in ("422", "500"):
                assert "application/problem+json" in responses[code]["content"], (method, path, code)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= responses.keys(), (method, path)


def test_request_bodies_refuse_unknown_fields() -> None:
    document = json.loads(openapi.OPENAPI_FILE.read_text())
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert schemas[ref.rsplit("/", 1)[1]].get("additionalProperties") is False, (method, path)
