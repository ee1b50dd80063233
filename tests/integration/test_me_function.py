from __future__ import annotations

import json
from types import ModuleType

from .conftest import invoke, load_event


def test_me_returns_the_verified_identity(me_function: ModuleType) -> None:
    event = load_event("me/me.json")
    claims = event["requestContext"]["authorizer"]["claims"]
    result = invoke(me_function, event)
    assert result.status == 200
    assert result.content_type == "application/json"
    assert result.body == {
        "tenantId": claims["custom:tenant_id"],
        "userId": claims["sub"],
        "username": claims["cognito:username"],
        "groups": ["customer"],
    }


def test_me_lists_every_group_of_a_multi_group_user(me_function: ModuleType) -> None:
    event = load_event("me/me.json")
    event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "[staff customer]"
    assert invoke(me_function, event).body["groups"] == ["customer", "staff"]


def test_me_ignores_identity_sent_in_body_headers_or_query(me_function: ModuleType) -> None:
    event = load_event("me/me.json")
    event["headers"].update({"X-Tenant-Id": "evil-corp", "X-User-Id": "root"})
    event["queryStringParameters"] = {"tenantId": "evil-corp"}
    event["body"] = json.dumps({"tenantId": "evil-corp", "userId": "root", "groups": ["staff"]})
    result = invoke(me_function, event)
    assert result.status == 200
    assert result.body["tenantId"] == "acme-cinemas"
    assert result.body["groups"] == ["customer"]


def test_me_without_verified_claims_is_a_403_problem(me_function: ModuleType) -> None:
    event = load_event("me/me.json")
    del event["requestContext"]["authorizer"]
    result = invoke(me_function, event)
    assert result.status == 403
    assert result.content_type == "application/problem+json"
    assert set(result.body) >= {"type", "title", "status", "detail", "instance"}
    assert result.body["type"] == "urn:marquee:problem:tenant-required"
