"""`marquee maintenance on|off|status`: put a service behind the API (or one tenant's use of it, or only its writes)
into maintenance at run time, through the ``maintenance_mode`` feature flag (marquee.http.maintenance), with no
deploy. Its functions answer 503 problem+json with Retry-After within their flags cache age (FLAGS_MAX_AGE_SECONDS).

One rule per scope (service, tenant, writes only), named ``maintenance:<service>[/<tenant>][/writes]``; switching a
scope on again replaces its rule, switching it off removes it, and the flag is removed with its last rule.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from devkit.layer import use_layer

use_layer()  # the kernel (marquee) is the common layer's: the CLI and the console import this module without it

from marquee.http.maintenance import DEFAULT_RETRY_AFTER_S, FLAG, Notice  # noqa: E402

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_PREFIX = "maintenance:"
# An integration URI: arn:aws:apigateway:...:lambda:path/2015-03-31/functions/<function ARN>[:alias]/invocations
_FUNCTION_IN_URI = re.compile(r"/functions/(arn:[^/]+?:function:[^/:]+(?::[^/]+)?)/invocations")


class MaintenanceError(Exception):
    pass


def _rule_name(service: str, tenant: str | None, writes_only: bool) -> str:
    return f"{_PREFIX}{service}" + (f"/{tenant}" if tenant else "") + ("/writes" if writes_only else "")


def _check_scope(service: str, tenant: str | None, known_services: Iterable[str] | None) -> None:
    if not _NAME.match(service):
        raise MaintenanceError(f"bad service name {service!r}: lower-case letters, digits, _ and - only")
    if tenant is not None and not _TENANT.match(tenant):
        raise MaintenanceError(f"bad tenant id {tenant!r}")
    if known_services is not None:
        known = sorted(set(known_services))
        if service not in known:
            raise MaintenanceError(f"no API service {service!r}; the deployed ones are: {', '.join(known)}")


def switch_on(
    flags: dict[str, Any],
    *,
    service: str,
    tenant: str | None = None,
    writes_only: bool = False,
    retry_after_s: int = DEFAULT_RETRY_AFTER_S,
    detail: str | None = None,
    known_services: Iterable[str] | None = None,
) -> dict[str, Any]:
    """A copy of ``flags`` with ``service`` (for ``tenant`` only, for its writes only) in maintenance."""
    _check_scope(service, tenant, known_services)
    try:
        notice = Notice(retry_after_s=retry_after_s, detail=detail)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise MaintenanceError(f"bad maintenance notice: {problems}") from exc
    conditions = [{"action": "EQUALS", "key": "service", "value": service}]
    if tenant:
        conditions.append({"action": "EQUALS", "key": "tenant", "value": tenant})
    if writes_only:
        conditions.append({"action": "EQUALS", "key": "route_class", "value": "write"})
    updated = copy.deepcopy(flags)
    feature = updated.setdefault(FLAG, {"default": False, "boolean_type": False, "rules": {}})
    feature.setdefault("rules", {})[_rule_name(service, tenant, writes_only)] = {
        "when_match": notice.model_dump(by_alias=True, exclude_none=True),
        "conditions": conditions,
    }
    return updated


def switch_off(
    flags: dict[str, Any], *, service: str, tenant: str | None = None, writes_only: bool = False
) -> dict[str, Any]:
    """A copy of ``flags`` without that scope's rule; the flag goes with its last rule."""
    _check_scope(service, tenant, None)
    updated = copy.deepcopy(flags)
    rules = updated.get(FLAG, {}).get("rules", {})
    name = _rule_name(service, tenant, writes_only)
    if name not in rules:
        raise MaintenanceError(f"{name.removeprefix(_PREFIX)} is not in maintenance")
    del rules[name]
    if not rules:
        del updated[FLAG]
    return updated


def status(flags: dict[str, Any]) -> list[dict[str, Any]]:
    """Every scope in maintenance, in rule order: service, tenant (None: all), writes_only, retry_after_s, detail."""
    scopes = []
    for rule in flags.get(FLAG, {}).get("rules", {}).values():
        keys = {c["key"]: c["value"] for c in rule.get("conditions", []) if c.get("action") == "EQUALS"}
        value = rule.get("when_match")
        notice = value if isinstance(value, dict) else {}
        scopes.append(
            {
                "service": keys.get("service"),
                "tenant": keys.get("tenant"),
                "writes_only": keys.get("route_class") == "write",
                "retry_after_s": notice.get("retryAfterS", DEFAULT_RETRY_AFTER_S),
                "detail": notice.get("detail"),
            }
        )
    return scopes


def api_services(endpoint_url: str, rest_api_id: str) -> set[str]:
    """The service names (POWERTOOLS_SERVICE_NAME) of the deployed functions behind the REST API's methods."""
    from localcloud.aws import local_client

    apigw = local_client("apigateway", endpoint_url)
    lambda_client = local_client("lambda", endpoint_url)
    functions = set()
    for resource in apigw.get_resources(restApiId=rest_api_id, embed=["methods"], limit=500)["items"]:
        for method in resource.get("resourceMethods") or {}:
            uri = apigw.get_integration(restApiId=rest_api_id, resourceId=resource["id"], httpMethod=method).get("uri")
            match = _FUNCTION_IN_URI.search(uri or "")
            if match:
                functions.add(match.group(1))
    services = set()
    for function in functions:
        configuration = lambda_client.get_function_configuration(FunctionName=function)
        service = configuration.get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME")
        if service:
            services.add(service)
    return services


def deployed_api_id(endpoint_url: str) -> str | None:
    """The deployed stack's REST API id (its ApiId output), or None without a stack."""
    from botocore.exceptions import ClientError

    from devkit.state import STACK_NAME
    from localcloud.aws import local_client

    try:
        stacks = local_client("cloudformation", endpoint_url).describe_stacks(StackName=STACK_NAME)["Stacks"]
    except ClientError:
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for stack in stacks for o in stack.get("Outputs", [])}
    return outputs.get("ApiId")


def switch(
    flags: dict[str, Any], body: dict[str, Any], *, known_services: Iterable[str] | None = None
) -> dict[str, Any]:
    """The console's request (``{"service", "on", "tenant"?, "writesOnly"?, "retryAfterS"?, "detail"?}``) applied."""
    service, on = body.get("service"), body.get("on")
    tenant = body.get("tenant") or None
    writes_only = body.get("writesOnly", False)
    if not isinstance(service, str) or not isinstance(on, bool) or not isinstance(writes_only, bool):
        raise MaintenanceError('send {"service": <name>, "on": true|false, "tenant"?, "writesOnly"?, "retryAfterS"?}')
    if tenant is not None and not isinstance(tenant, str):
        raise MaintenanceError("tenant is a tenant id")
    if not on:
        return switch_off(flags, service=service, tenant=tenant, writes_only=writes_only)
    retry = body.get("retryAfterS", DEFAULT_RETRY_AFTER_S)
    detail = body.get("detail") or None
    if not isinstance(retry, int) or isinstance(retry, bool) or (detail is not None and not isinstance(detail, str)):
        raise MaintenanceError("retryAfterS is whole seconds and detail a text")
    return switch_on(
        flags,
        service=service,
        tenant=tenant,
        writes_only=writes_only,
        retry_after_s=retry,
        detail=detail,
        known_services=known_services,
    )
