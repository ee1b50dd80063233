"""Tenant context, built only from the claims API Gateway's Cognito authorizer has verified.

In a REST API (payload 1.0) proxy event the verified claims are at ``requestContext.authorizer.claims``. A client cannot
set them: API Gateway writes them after validating the JWT. Bodies, query strings and headers are never consulted.

Every DynamoDB key is built from the tenant (``TENANT#{tenant_id}#...``), so an access can never leave its tenant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from marquee.core.errors import ForbiddenError, TenantClaimError

TENANT_CLAIM = "custom:tenant_id"
SUBJECT_CLAIM = "sub"
USERNAME_CLAIMS = ("cognito:username", "username")
GROUPS_CLAIM = "cognito:groups"
KEY_SEPARATOR = "#"

# A tenant id is a slug or a UUID: it can never contain the key separator, so it cannot forge another tenant's prefix.
TenantId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class TenantContext(BaseModel):
    """Who is calling, and for which tenant. Immutable once built."""

    model_config = ConfigDict(frozen=True)

    tenant_id: TenantId
    user_id: UserId
    username: str | None = None
    groups: frozenset[str] = Field(default_factory=frozenset)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any] | None) -> TenantContext:
        """Build the context from verified authorizer claims; ``TenantClaimError`` if the tenant is unusable."""
        if not claims:
            raise TenantClaimError("The request carries no verified claims.")
        tenant_id = claims.get(TENANT_CLAIM)
        if not isinstance(tenant_id, str) or not tenant_id.strip():
            raise TenantClaimError(f"The verified claims have no '{TENANT_CLAIM}'.")
        subject = claims.get(SUBJECT_CLAIM)
        if not isinstance(subject, str) or not subject:
            raise TenantClaimError(f"The verified claims have no '{SUBJECT_CLAIM}'.")
        username = next((claims[c] for c in USERNAME_CLAIMS if isinstance(claims.get(c), str)), None)
        try:
            return cls(
                tenant_id=tenant_id.strip(),
                user_id=subject,
                username=username,
                groups=parse_groups(claims.get(GROUPS_CLAIM)),
            )
        except ValidationError as exc:
            raise TenantClaimError(f"The '{TENANT_CLAIM}' claim is not a valid tenant id.") from exc

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> TenantContext:
        """Build the context from a raw API Gateway REST proxy event."""
        request_context = event.get("requestContext") or {}
        authorizer = request_context.get("authorizer") or {}
        return cls.from_claims(authorizer.get("claims"))

    def in_group(self, group: str) -> bool:
        return group in self.groups

    def require_group(self, group: str) -> None:
        """Raise ``ForbiddenError`` unless the caller belongs to ``group``."""
        if group not in self.groups:
            raise ForbiddenError(f"This operation requires membership of the '{group}' group.")

    @property
    def key_prefix(self) -> str:
        return f"TENANT{KEY_SEPARATOR}{self.tenant_id}{KEY_SEPARATOR}"

    def key(self, *parts: str) -> str:
        """A DynamoDB key inside this tenant: ``key("SHOWTIME", "42")`` -> ``TENANT#acme#SHOWTIME#42``."""
        return tenant_key(self.tenant_id, *parts)

    def owns(self, key: str) -> bool:
        """True if ``key`` lies inside this tenant's key space."""
        return key.startswith(self.key_prefix)


def tenant_key(tenant_id: str, *parts: str) -> str:
    """Join ``parts`` under the tenant prefix. Parts must be non-empty and free of the separator."""
    if not parts:
        raise ValueError("a tenant key needs at least one part after the tenant")
    for part in (tenant_id, *parts):
        if not part or KEY_SEPARATOR in part:
            raise ValueError(f"key part {part!r} is empty or contains {KEY_SEPARATOR!r}")
    return KEY_SEPARATOR.join(("TENANT", tenant_id, *parts))


_GROUP_SPLIT = re.compile(r"[\s,]+")


def parse_groups(raw: Any) -> frozenset[str]:
    """Normalise ``cognito:groups`` whatever shape API Gateway passed it in.

    A REST API authorizer flattens the JWT array into a string: ``"staff"``, ``"[staff customer]"`` or
    ``"staff,customer"``. A JSON array string (``'["staff","customer"]'``) or a real list also occur (other
    gateways, tests). Anything else yields no groups.
    """
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                decoded = json.loads(text)
            except json.JSONDecodeError:
                decoded = None
            if isinstance(decoded, list):
                return _clean(decoded)
            text = text[1:-1]
        return _clean(_GROUP_SPLIT.split(text))
    if isinstance(raw, Iterable):
        return _clean(raw)
    return frozenset()


def _clean(items: Iterable[Any]) -> frozenset[str]:
    return frozenset(s for s in (str(i).strip().strip("\"'") for i in items if i is not None) if s)


def current_tenant(app: Any) -> TenantContext:
    """The tenant of the request a Powertools resolver is handling (``app.current_event``), from verified claims."""
    return TenantContext.from_event(app.current_event.raw_event)
