"""Tenants, users and tokens on the deployed Cognito user pool (`marquee auth token`), and ``ApiClient``, the client of
the deployed API that caches them."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import requests
from botocore.exceptions import ClientError

from devkit.state import read_outputs
from localcloud.aws import local_client

GROUPS = ("customer", "staff", "compliance")


class IdentityError(Exception):
    pass


def _cognito(endpoint_url: str) -> Any:
    return local_client("cognito-idp", endpoint_url)


def pool_ids(outputs: dict[str, Any] | None = None) -> tuple[str, str]:
    outputs = outputs if outputs is not None else read_outputs()
    try:
        return outputs["UserPoolId"], outputs["UserPoolClientId"]
    except KeyError as exc:
        raise IdentityError("the stack is not deployed (no UserPoolId output): run `marquee deploy` first") from exc


def token_for(
    endpoint_url: str, *, tenant: str, user: str, group: str = "customer", outputs: dict[str, Any] | None = None
) -> str:
    """Create the user in the tenant (if new), put it in the group, and return a fresh id token.

    The tenant is a custom attribute that only an administrator sets: tokens carry it as `custom:tenant_id`, and the
    API trusts the tenant only from verified token claims.
    """
    if group not in GROUPS:
        raise IdentityError(f"unknown group {group!r}: use one of {', '.join(GROUPS)}")
    if not tenant.replace("-", "").isalnum() or not user.replace("-", "").replace(".", "").isalnum():
        raise IdentityError("tenant and user must be letters, digits, '-' (and '.' for users)")
    pool_id, client_id = pool_ids(outputs)
    cognito = _cognito(endpoint_url)
    username = f"{tenant}.{user}"
    try:
        existing = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
        attributes = {a["Name"]: a["Value"] for a in existing["UserAttributes"]}
        if attributes.get("custom:tenant_id") != tenant:
            raise IdentityError(f"user {username} belongs to tenant {attributes.get('custom:tenant_id')}, not {tenant}")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "UserNotFoundException":
            raise
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            UserAttributes=[
                {"Name": "custom:tenant_id", "Value": tenant},
                {"Name": "email", "Value": f"{user}@{tenant}.example"},
            ],
            MessageAction="SUPPRESS",
        )
    password = "Mq-" + secrets.token_urlsafe(18) + "9a!"
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    result = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


@dataclass
class ApiClient:
    """A client of the deployed API: its base URL, one ``requests`` session, and id tokens cached per (tenant, user,
    group), safe to share between threads. The tour, the seeder, the benchmarks and the e2e helpers use it."""

    endpoint_url: str
    outputs: dict[str, Any]
    session: requests.Session = field(default_factory=requests.Session)
    _tokens: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"{self.endpoint_url}/_aws/execute-api/{self.outputs['ApiId']}/{self.outputs['StageName']}"

    def token(self, tenant: str, user: str, group: str = "customer") -> str:
        key = (tenant, user, group)
        with self._lock:
            if key not in self._tokens:
                self._tokens[key] = token_for(
                    self.endpoint_url, tenant=tenant, user=user, group=group, outputs=self.outputs
                )
            return self._tokens[key]

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = token
        return self.session.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)
