from __future__ import annotations

import pytest

from marquee.core.errors import ForbiddenError, TenantClaimError
from marquee.tenancy.tenant import TenantContext, parse_groups, tenant_key

from .conftest import load_event

CLAIMS = {"custom:tenant_id": "acme-cinemas", "sub": "user-1", "cognito:username": "carla", "cognito:groups": "staff"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("staff", {"staff"}),
        ("[staff customer]", {"staff", "customer"}),
        ("[staff]", {"staff"}),
        ("staff,customer", {"staff", "customer"}),
        ("staff, customer", {"staff", "customer"}),
        ('["staff","customer"]', {"staff", "customer"}),
        (["staff", "customer"], {"staff", "customer"}),
        ("[]", set()),
        ("", set()),
        (None, set()),
        (42, set()),
    ],
)
def test_cognito_groups_are_parsed_in_every_shape_api_gateway_sends(raw: object, expected: set[str]) -> None:
    assert parse_groups(raw) == frozenset(expected)


def test_context_is_built_from_verified_claims() -> None:
    ctx = TenantContext.from_claims({**CLAIMS, "cognito:groups": "[staff customer]"})
    assert ctx.tenant_id == "acme-cinemas"
    assert ctx.user_id == "user-1"
    assert ctx.username == "carla"
    assert ctx.groups == {"staff", "customer"}


@pytest.mark.parametrize(
    "claims",
    [
        None,
        {},
        {k: v for k, v in CLAIMS.items() if k != "custom:tenant_id"},
        {**CLAIMS, "custom:tenant_id": ""},
        {**CLAIMS, "custom:tenant_id": "   "},
        {**CLAIMS, "custom:tenant_id": "acme#OTHER"},  # would forge another key prefix
        {**CLAIMS, "custom:tenant_id": "x" * 65},
        {**CLAIMS, "custom:tenant_id": ["acme"]},
        {k: v for k, v in CLAIMS.items() if k != "sub"},
    ],
)
def test_missing_or_invalid_tenant_claim_is_a_tenant_claim_error(claims: dict[str, object] | None) -> None:
    with pytest.raises(TenantClaimError) as caught:
        TenantContext.from_claims(claims)
    assert caught.value.status == 403


def test_tenant_claim_error_is_a_forbidden_error() -> None:
    assert issubclass(TenantClaimError, ForbiddenError)


def test_context_comes_only_from_authorizer_claims_never_headers_or_body() -> None:
    event = load_event("me/me.json")
    event["headers"]["X-Tenant-Id"] = "evil-corp"
    event["body"] = '{"custom:tenant_id": "evil-corp", "tenantId": "evil-corp"}'
    event["queryStringParameters"] = {"tenant_id": "evil-corp"}
    ctx = TenantContext.from_event(event)
    assert ctx.tenant_id == "acme-cinemas"


def test_event_without_authorizer_has_no_tenant() -> None:
    event = load_event("health/liveness.json")
    event["headers"]["X-Tenant-Id"] = "acme-cinemas"
    with pytest.raises(TenantClaimError):
        TenantContext.from_event(event)


def test_require_group_refuses_non_members() -> None:
    ctx = TenantContext.from_claims({**CLAIMS, "cognito:groups": "customer"})
    with pytest.raises(ForbiddenError):
        ctx.require_group("staff")
    ctx.require_group("customer")


def test_every_key_starts_from_the_tenant() -> None:
    ctx = TenantContext.from_claims(CLAIMS)
    assert ctx.key("SHOWTIME", "42") == "TENANT#acme-cinemas#SHOWTIME#42"
    assert tenant_key("acme", "SEAT", "A1") == "TENANT#acme#SEAT#A1"
    assert ctx.owns("TENANT#acme-cinemas#SHOWTIME#42")
    assert not ctx.owns("TENANT#acme-cinemas-2#SHOWTIME#42")
    assert not ctx.owns("TENANT#other#SHOWTIME#42")


@pytest.mark.parametrize("parts", [(), ("",), ("A#B",)])
def test_key_parts_cannot_escape_their_position(parts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        tenant_key("acme", *parts)
