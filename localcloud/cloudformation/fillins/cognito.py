"""AWS::Cognito::UserPool, ::UserPoolClient and ::UserPoolGroup, created in moto's cognito-idp backend."""

from __future__ import annotations

from typing import Any

from moto.cognitoidp.models import CognitoIdpUserPoolAttribute, cognitoidp_backends

from .base import Context, FillIn, as_bool, require

# CloudFormation properties that are not CreateUserPool parameters (or are spelled differently there).
_POOL_PROPS_NOT_IN_API = {"UserPoolName", "EnabledMfas"}


def _backend(ctx: Context) -> Any:
    return cognitoidp_backends[ctx.account_id][ctx.region_name]


def _pool_config(props: dict[str, Any]) -> dict[str, Any]:
    """CreateUserPool's parameters. CloudFormation and the API share names except UserPoolName/PoolName.

    A Schema that lists only custom attributes (`tenant_id` becomes `custom:tenant_id`) still leaves every standard
    attribute in the pool on AWS; moto keeps only what was listed, so the standard ones are added back here.
    """
    config = {k: v for k, v in props.items() if k not in _POOL_PROPS_NOT_IN_API}
    if config.get("Schema"):
        listed = {attr["Name"] for attr in config["Schema"]}
        standard = [
            {"Name": name, **schema}
            for name, schema in CognitoIdpUserPoolAttribute.STANDARD_SCHEMA.items()
            if name not in listed
        ]
        config["Schema"] = standard + list(config["Schema"])
    return config


def _new_custom_attributes(pool: Any, schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    standard = CognitoIdpUserPoolAttribute.STANDARD_SCHEMA
    return [
        attr
        for attr in schema
        if attr["Name"] not in standard and f"custom:{attr['Name']}" not in pool.schema_attributes
    ]


class UserPool(FillIn):
    CFN_TYPE = "AWS::Cognito::UserPool"
    NAME_PROPERTY = "UserPoolName"
    ATTRIBUTES = frozenset({"Arn", "ProviderName", "ProviderURL", "UserPoolId"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> UserPool:
        pool = _backend(ctx).create_user_pool(ctx.resource_name, _pool_config(props))
        cls._apply_mfa(ctx, pool.id, props)
        return cls(ctx, pool.id, cls._attributes(ctx, pool))

    @staticmethod
    def _attributes(ctx: Context, pool: Any) -> dict[str, Any]:
        provider = f"cognito-idp.{ctx.region_name}.amazonaws.com/{pool.id}"
        return {"Arn": pool.arn, "ProviderName": provider, "ProviderURL": f"https://{provider}", "UserPoolId": pool.id}

    @staticmethod
    def _apply_mfa(ctx: Context, pool_id: str, props: dict[str, Any]) -> None:
        """EnabledMfas is CloudFormation-only; the API equivalent is SetUserPoolMfaConfig."""
        enabled = props.get("EnabledMfas") or []
        if "SOFTWARE_TOKEN_MFA" in enabled:
            pool = _backend(ctx).describe_user_pool(pool_id)
            pool.token_mfa_config = {"Enabled": True}

    def remove(self) -> None:
        _backend(self.ctx).delete_user_pool(self.physical_resource_id)

    def update(self, props: dict[str, Any], new_resource_name: str) -> UserPool:
        """Most user pool properties update in place (the pool id survives), as on AWS."""
        backend = _backend(self.ctx)
        pool = backend.describe_user_pool(self.physical_resource_id)
        config = _pool_config(props)
        schema = config.pop("Schema", None)
        backend.update_user_pool(self.physical_resource_id, config)
        new_attributes = _new_custom_attributes(pool, schema or [])
        if new_attributes:
            # Custom attributes can be added but never removed or changed, as on AWS.
            backend.add_custom_attributes(self.physical_resource_id, new_attributes)
        self._apply_mfa(self.ctx, pool.id, props)
        return self


class UserPoolClient(FillIn):
    CFN_TYPE = "AWS::Cognito::UserPoolClient"
    NAME_PROPERTY = "ClientName"
    ATTRIBUTES = frozenset({"ClientSecret", "Name", "ClientId"})

    def __init__(self, ctx: Context, physical_id: str, attributes: dict[str, Any], user_pool_id: str) -> None:
        super().__init__(ctx, physical_id, attributes)
        self.user_pool_id = user_pool_id

    @staticmethod
    def _config(ctx: Context, props: dict[str, Any]) -> dict[str, Any]:
        config = {k: v for k, v in props.items() if k not in {"UserPoolId", "GenerateSecret"}}
        config["ClientName"] = props.get("ClientName") or ctx.resource_name
        return config

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> UserPoolClient:
        pool_id = require(props, "UserPoolId", cls.CFN_TYPE)
        client = _backend(ctx).create_user_pool_client(
            pool_id, as_bool(props.get("GenerateSecret")), cls._config(ctx, props)
        )
        return cls(ctx, client.id, cls._attributes(client), pool_id)

    @staticmethod
    def _attributes(client: Any) -> dict[str, Any]:
        attributes = {"Name": client.extended_config.get("ClientName"), "ClientId": client.id}
        if client.generate_secret:
            attributes["ClientSecret"] = client.secret
        return attributes

    def remove(self) -> None:
        # moto deletes a stack's resources in no particular order: the pool, and its clients, may be gone already.
        pool = _backend(self.ctx).user_pools.get(self.user_pool_id)
        if pool is not None:
            pool.clients.pop(self.physical_resource_id, None)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """UserPoolId and GenerateSecret require replacement; everything else updates in place."""
        if props.get("UserPoolId") != self.user_pool_id or as_bool(props.get("GenerateSecret")) != (
            "ClientSecret" in self.attributes
        ):
            return super().update(props, new_resource_name)
        client = _backend(self.ctx).update_user_pool_client(
            self.user_pool_id, self.physical_resource_id, self._config(self.ctx, props)
        )
        self.attributes = self._attributes(client)
        return self


class UserPoolGroup(FillIn):
    CFN_TYPE = "AWS::Cognito::UserPoolGroup"
    NAME_PROPERTY = "GroupName"

    def __init__(self, ctx: Context, physical_id: str, user_pool_id: str) -> None:
        super().__init__(ctx, physical_id)
        self.user_pool_id = user_pool_id

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> UserPoolGroup:
        pool_id = require(props, "UserPoolId", cls.CFN_TYPE)
        group = _backend(ctx).create_group(
            pool_id,
            ctx.resource_name,
            props.get("Description"),
            props.get("RoleArn"),
            props.get("Precedence"),
        )
        return cls(ctx, group.group_name, pool_id)

    def remove(self) -> None:
        if self.user_pool_id in _backend(self.ctx).user_pools:
            _backend(self.ctx).delete_group(self.user_pool_id, self.physical_resource_id)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        if props.get("UserPoolId") != self.user_pool_id or new_resource_name != self.physical_resource_id:
            return super().update(props, new_resource_name)
        _backend(self.ctx).update_group(
            self.user_pool_id,
            self.physical_resource_id,
            props.get("Description"),
            props.get("RoleArn"),
            props.get("Precedence"),
        )
        return self
