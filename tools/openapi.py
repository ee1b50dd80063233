"""Write the OpenAPI 3.1 document of the whole REST API to docs/openapi.json.

    python -m tools.openapi          # (re)write docs/openapi.json
    python -m tools.openapi --check  # exit 1 if the committed file differs from the code

Each API function's Powertools resolver describes its own routes (``app.get_openapi_schema()``); this merges them into
one document and adds what no single function knows:
- the Cognito security scheme, on every operation but the public ones (``PUBLIC_ROUTES``, checked against the
  synthesized stack by tests/infra/test_openapi_routes.py);
- the error responses every operation can give, as ``application/problem+json`` (RFC 9457), in place of Powertools'
  own 422 shape: 400/413/415/422 from the request guard on operations with a body, 401 from the authorizer, 403, 404,
  the catch-all 4XX of domain errors (402, 409, 429, ...), 500, and 503 (maintenance mode);
- the request body and ``Idempotency-Key`` header of ``POST /payments``, which that route reads itself (its idempotency
  record hashes the raw body).

The health function serves the committed file at ``GET /openapi.json`` (functions/health/openapi.json is a link to it).
"""

from __future__ import annotations

import argparse
import json
import sys
from types import ModuleType
from typing import Any

from tools.api_functions import ROOT, load_all

OPENAPI_FILE = ROOT / "docs" / "openapi.json"
TITLE = "Marquee API"
VERSION = "1.0.0"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Routes API Gateway serves without the Cognito authorizer (infra: Api.add_route(..., public=True)).
PUBLIC_ROUTES = frozenset(
    {("GET", "/health"), ("GET", "/health/ready"), ("GET", "/openapi.json"), ("POST", "/webhooks/inbound/payments")}
)
SECURITY_SCHEME = "cognito"
PARTNER_SCHEME = "partnerKey"
# Routes that also need a partner API key (infra: Api.add_route(..., api_key=True)).
API_KEY_ROUTES = frozenset({("GET", "/partner/showtimes")})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. Validation errors name the field and the rule, never the value sent.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": ["string", "null"]},
        "correlationId": {"type": ["string", "null"], "description": "On a 500: the id to quote when reporting it."},
        "requestId": {
            "type": "string",
            "description": "The request's id (the X-Request-Id sent, or API Gateway's), also in the X-Request-Id header "
            "and the logs",
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "type", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "type": {"type": "string"},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
AUTHORIZER_MESSAGE_SCHEMA: dict[str, Any] = {
    "title": "AuthorizerMessage",
    "description": "API Gateway's own answer when the Cognito authorizer refuses the token.",
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
BODY_ERRORS = {
    "400": "The body is not UTF-8 JSON, nests too deeply, or repeats a key",
    "413": "The body is over the operation's size limit",
    "415": "The Content-Type is not JSON",
}
COMMON_ERRORS = {
    "403": "Authenticated, but not allowed (another tenant, not staff)",
    "404": "No such resource in the caller's tenant",
    "422": "The request does not match the operation's schema",
    "4XX": "A domain error (402 declined, 409 conflict, 429 rate limited, ...)",
    "500": "A bug: logged with its correlation id, which the body carries",
    "503": "The service is in maintenance (marquee.http.maintenance): Retry-After says when to try again",
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _merge_schemas(into: dict[str, Any], schemas: dict[str, Any], source: str) -> None:
    for name, schema in schemas.items():
        if name in into and into[name] != schema:
            raise ValueError(f"schema {name!r} of {source} differs from another function's schema of that name")
        into[name] = schema


def _rename_clashes(part: dict[str, Any], taken: dict[str, Any], source: str) -> dict[str, Any]:
    """Two functions may each have a model of one name (webhooks' and notifications' DeliveryStatus): the later one's
    schema is renamed ``<Function><Name>`` and every reference to it in its part follows."""
    schemas = part.get("components", {}).get("schemas", {})
    prefix = "".join(word.title() for word in source.split("_"))
    renames = {name: f"{prefix}{name}" for name, schema in schemas.items() if name in taken and taken[name] != schema}
    if not renames:
        return part
    text = json.dumps(part)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    renamed: dict[str, Any] = json.loads(text)
    component_schemas = renamed["components"]["schemas"]
    for old, new in renames.items():
        component_schemas[new] = component_schemas.pop(old)
    return renamed


def _payments_request(document: dict[str, Any], payments: ModuleType) -> None:
    """POST /payments parses its body itself: document it from the model the route validates with."""
    request = payments.function_models.PaymentRequest
    schema = request.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    _merge_schemas(document["components"]["schemas"], schema.pop("$defs", {}), "payments")
    document["components"]["schemas"][request.__name__] = schema
    operation = document["paths"]["/payments"]["post"]
    operation["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{request.__name__}"}}},
    }
    operation.setdefault("parameters", []).append(
        {
            "name": payments.function_models.IDEMPOTENCY_KEY_HEADER,
            "in": "header",
            "required": True,
            "description": "IETF Idempotency-Key: a retry with the same key and body replays the first answer.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
        }
    )


def build() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    loaded = load_all()
    for function, module in loaded.items():
        part = json.loads(module.app.get_openapi_json_schema(title=TITLE, version=VERSION))
        part = _rename_clashes(part, schemas, function.name)
        for path, operations in part.get("paths", {}).items():
            for method, operation in operations.items():
                if method in paths.get(path, {}):
                    raise ValueError(f"{method.upper()} {path} is served by two functions")
                operation.setdefault("tags", [function.name])
                paths.setdefault(path, {})[method] = operation
        _merge_schemas(schemas, part.get("components", {}).get("schemas", {}), function.name)
    for powertools_only in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(powertools_only, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["AuthorizerMessage"] = AUTHORIZER_MESSAGE_SCHEMA
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Marquee's REST API (API Gateway REST API, Lambda proxy integrations). Every error is "
            "application/problem+json. Generated by `python -m tools.openapi` from the functions' routes.",
        },
        "servers": [{"url": "/v1", "description": "the API's stage (locally: {endpoint}/_aws/execute-api/{apiId}/v1)"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "A Cognito user pool ID token (API Gateway Cognito authorizer); the tenant and "
                    "groups come from its claims.",
                },
                PARTNER_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "A partner client's API key (API Gateway usage plan: per-key throttle and daily "
                    "quota), on partner routes, besides the token.",
                },
            },
        },
    }
    _payments_request(document, next(m for f, m in loaded.items() if f.name == "payments"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            _finish_operation(method.upper(), path, operation)
    return document


def _finish_operation(method: str, path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if "204" in responses:
        responses["204"].pop("content", None)  # No Content: Powertools documents the return annotation there too
    responses.pop("422", None)  # Powertools' HTTPValidationError shape: Marquee answers a Problem instead
    errors = dict(COMMON_ERRORS)
    if "requestBody" in operation:
        errors.update(BODY_ERRORS)
    for status, description in errors.items():
        responses.setdefault(status, _problem(description))
    if (method, path) in PUBLIC_ROUTES:
        operation["security"] = []
    else:
        operation["security"] = [
            {SECURITY_SCHEME: [], PARTNER_SCHEME: []} if (method, path) in API_KEY_ROUTES else {SECURITY_SCHEME: []}
        ]
        if (method, path) in API_KEY_ROUTES:  # API Gateway's own answers for the key, beside the problems
            gateway = {"application/json": {"schema": {"$ref": "#/components/schemas/AuthorizerMessage"}}}
            responses["403"]["description"] += "; or no x-api-key, or not a partner plan's key (API Gateway)"
            responses["403"]["content"].update(gateway)
            responses["429"] = _problem(
                "Rate limited: the tenant's plan (a problem), or the key's usage-plan throttle or daily quota "
                "(API Gateway)"
            )
            responses["429"]["content"].update(gateway)
        responses["401"] = {
            "description": "No token, or not a valid Cognito token (API Gateway's authorizer)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuthorizerMessage"}}},
        }
    operation["responses"] = dict(sorted(responses.items()))


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json differs from the code")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = OPENAPI_FILE.read_text() if OPENAPI_FILE.exists() else ""
        if current != text:
            print(f"{OPENAPI_FILE.relative_to(ROOT)} is out of date: run `python -m tools.openapi`", file=sys.stderr)
            return 1
        return 0
    OPENAPI_FILE.write_text(text)
    print(
        f"wrote {OPENAPI_FILE.relative_to(ROOT)}: {sum(len(v) for v in json.loads(text)['paths'].values())} operations"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
