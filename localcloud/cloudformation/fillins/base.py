"""The shape every fill-in shares.

A fill-in is a small CloudFormation *record*: it remembers the identifiers of a resource that lives in a moto backend
(a Cognito user pool, a secret, an API Gateway stage) and answers `Ref` and `Fn::GetAtt` for it. The resource itself is
created, updated and deleted through the backend's own methods, so every AWS API call sees it exactly as if it had been
created through that API.

How moto drives these records (moto 5.2.5, `moto/cloudformation/parsing.py`):
- create: `create_from_cloudformation_json(resource_name, resource_json, account_id, region_name, LogicalId=...,
  StackId=..., ResourceType=...)`, with intrinsic functions already resolved;
- update: `update_from_cloudformation_json(original_resource, new_resource_name, resource_json, ...)` (resolved);
- delete: `instance.delete(account_id, region_name)` first. moto only falls back to the class method
  `delete_from_cloudformation_json` when that raises `TypeError`/`AttributeError`, and then passes the *unresolved*
  template JSON, so the instance path is the one that can be made correct. `delete()` therefore converts those two
  exceptions into `FillInDeleteError`, so that a bug fails the stack delete instead of being skipped silently.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from moto.cloudformation.exceptions import CloudFormationError, UnformattedGetAttTemplateException, ValidationError
from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import ServiceException
from moto.moto_api._internal import mock_random
from werkzeug.exceptions import HTTPException


class FillInDeleteError(RuntimeError):
    """Deleting a filled-in resource failed in a way moto would otherwise swallow."""


@contextmanager
def as_stack_error(cfn_type: str, logical_id: str) -> Iterator[None]:
    """Report a service error raised while handling a resource as a CloudFormation ValidationError.

    moto runs resource handlers inside the CloudFormation request, so another service's error (Secrets Manager's
    JSON `ResourceExistsException`, say) would otherwise be sent back in that service's protocol and botocore could
    not even parse the CloudFormation response. The message follows AWS's CREATE_FAILED reason.
    """
    try:
        yield
    except CloudFormationError:
        raise
    except ServiceException as exc:
        raise ValidationError(message=_handler_message(cfn_type, logical_id, exc.code, exc.message)) from exc
    except HTTPException as exc:
        code = str(getattr(exc, "error_type", exc.code))
        message = str(getattr(exc, "message", exc.description))
        raise ValidationError(message=_handler_message(cfn_type, logical_id, code, message)) from exc


def _handler_message(cfn_type: str, logical_id: str, code: str, message: str) -> str:
    return (
        f'Resource handler returned message: "{message}" (LogicalId: {logical_id}, Type: {cfn_type}, '
        f"HandlerErrorCode: {code})"
    )


@dataclass(frozen=True)
class Context:
    """Where a resource is being created: account, region, and its place in the stack."""

    account_id: str
    region_name: str
    logical_id: str
    stack_id: str
    resource_name: str

    @property
    def stack_name(self) -> str:
        # arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>
        parts = self.stack_id.split("/")
        return parts[1] if len(parts) > 2 else self.stack_id

    @property
    def partition(self) -> str:
        return "aws-cn" if self.region_name.startswith("cn-") else "aws"


def require(props: dict[str, Any], key: str, cfn_type: str) -> Any:
    """Return a required property, or fail the resource the way CloudFormation's schema validation does."""
    if key not in props or props[key] is None:
        raise ValidationError(
            message=f"Properties validation failed for resource of type {cfn_type}: required key [{key}] not found"
        )
    return props[key]


def tags_to_list(tags: Any) -> list[dict[str, str]]:
    """CloudFormation tags come as `[{Key, Value}]` or as a map, depending on the resource type."""
    if not tags:
        return []
    if isinstance(tags, dict):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in tags]


def tags_to_dict(tags: Any) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags_to_list(tags)}


def as_bool(value: Any, default: bool = False) -> bool:
    """Template booleans arrive as JSON booleans or as the strings "true"/"false"."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def random_name_suffix(length: int = 12) -> str:
    """A mixed-case suffix like the ones CloudFormation appends to generated physical names."""
    alphabet = string.ascii_letters + string.digits
    return "".join(mock_random.choice(alphabet) for _ in range(length))


def lower_first(value: Any) -> Any:
    """Turn CloudFormation's PascalCase keys into the camelCase API Gateway's REST API uses, recursively."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): lower_first(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_first(v) for v in value]
    return value


class FillIn(CloudFormationModel):
    """Base class of every fill-in record. Subclasses set CFN_TYPE and ATTRIBUTES and implement create/remove."""

    CFN_TYPE: ClassVar[str] = ""
    NAME_PROPERTY: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, ctx: Context, physical_id: str, attributes: dict[str, Any] | None = None) -> None:
        self.ctx = ctx
        self._physical_id = physical_id
        self.attributes: dict[str, Any] = dict(attributes or {})

    # --- what moto's CloudFormation asks of a model -------------------------------------------------------------

    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.CFN_TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:  # type: ignore[override]
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.ATTRIBUTES or attribute_name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FillIn:
        ctx = Context(
            account_id=account_id,
            region_name=region_name,
            logical_id=str(kwargs.get("LogicalId", "")),
            stack_id=str(kwargs.get("StackId", "")),
            resource_name=resource_name,
        )
        with as_stack_error(cls.CFN_TYPE, ctx.logical_id):
            return cls.create(ctx, dict(cloudformation_json.get("Properties") or {}))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> FillIn:
        props = dict(cloudformation_json.get("Properties") or {})
        logical_id = str(getattr(original_resource, "logical_resource_id", ""))
        with as_stack_error(cls.CFN_TYPE, logical_id):
            if not isinstance(original_resource, cls):
                # Only happens if the record was created before install(); create afresh.
                return cls.create(Context(account_id, region_name, logical_id, "", new_resource_name), props)
            return original_resource.update(props, new_resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            with as_stack_error(self.CFN_TYPE, self.ctx.logical_id):
                self.remove()
        except (TypeError, AttributeError) as exc:
            raise FillInDeleteError(f"deleting {self.CFN_TYPE} {self.physical_resource_id}: {exc}") from exc

    # --- what each fill-in implements ---------------------------------------------------------------------------

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> FillIn:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """Default update is a replacement. CloudFormation creates the new resource before deleting the old one; here
        the old one goes first, because moto derives some ids from names and the two would collide."""
        ctx = Context(
            self.ctx.account_id, self.ctx.region_name, self.ctx.logical_id, self.ctx.stack_id, new_resource_name
        )
        self.remove()
        return type(self).create(ctx, props)
