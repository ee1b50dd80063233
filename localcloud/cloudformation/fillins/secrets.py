"""AWS::SecretsManager::Secret and ::RotationSchedule, created in moto's secretsmanager backend."""

from __future__ import annotations

import json
import time
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.moto_api._internal import mock_random
from moto.secretsmanager.models import secretsmanager_backends

from .base import Context, FillIn, as_bool, as_int, random_name_suffix, require, tags_to_list


def _backend(ctx: Context) -> Any:
    return secretsmanager_backends[ctx.account_id][ctx.region_name]


def generate_secret_string(ctx: Context, spec: dict[str, Any]) -> str:
    """What CloudFormation does with GenerateSecretString, using moto's own GetRandomPassword.

    With SecretStringTemplate + GenerateStringKey the password is added to the template's JSON under that key;
    otherwise the secret is the bare password. Defaults follow GetRandomPassword: 32 characters, every included
    character type required.
    """
    password = json.loads(
        _backend(ctx).get_random_password(
            password_length=as_int(spec.get("PasswordLength")) or 32,
            exclude_characters=spec.get("ExcludeCharacters") or "",
            exclude_numbers=as_bool(spec.get("ExcludeNumbers")),
            exclude_punctuation=as_bool(spec.get("ExcludePunctuation")),
            exclude_uppercase=as_bool(spec.get("ExcludeUppercase")),
            exclude_lowercase=as_bool(spec.get("ExcludeLowercase")),
            include_space=as_bool(spec.get("IncludeSpace")),
            require_each_included_type=as_bool(spec.get("RequireEachIncludedType"), default=True),
        )
    )["RandomPassword"]
    template = spec.get("SecretStringTemplate")
    key = spec.get("GenerateStringKey")
    if (template is None) != (key is None):
        raise ValidationError(
            message="GenerateSecretString: SecretStringTemplate and GenerateStringKey must be used together"
        )
    if template is None:
        return str(password)
    document = json.loads(template)
    document[key] = password
    return json.dumps(document)


class Secret(FillIn):
    CFN_TYPE = "AWS::SecretsManager::Secret"
    ATTRIBUTES = frozenset({"Id"})

    def __init__(self, ctx: Context, arn: str, name: str, generate_spec: dict[str, Any] | None) -> None:
        super().__init__(ctx, arn, {"Id": arn})
        self.name = name
        self.generate_spec = generate_spec

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Secret:
        if "SecretString" in props and "GenerateSecretString" in props:
            raise ValidationError(message="You can't specify both SecretString and GenerateSecretString")
        # Without a Name, CloudFormation names the secret <LogicalId>-<random>.
        name = props.get("Name") or f"{ctx.logical_id}-{random_name_suffix()}"
        generate_spec = props.get("GenerateSecretString")
        secret_string: str | None
        if generate_spec is not None:
            secret_string = generate_secret_string(ctx, generate_spec)
        else:
            secret_string = props.get("SecretString")
        created = json.loads(
            _backend(ctx).create_secret(
                name=name,
                secret_string=secret_string,
                secret_binary=None,
                description=props.get("Description"),
                tags=tags_to_list(props.get("Tags")) or None,
                kms_key_id=props.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=props.get("ReplicaRegions") or [],
                force_overwrite=False,
            )
        )
        return cls(ctx, created["ARN"], name, generate_spec)

    def remove(self) -> None:
        # CloudFormation's handler deletes without a recovery window, so a redeploy can reuse the name at once.
        _backend(self.ctx).delete_secret(self.physical_resource_id, None, True)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """A new Name replaces the secret; other changes update it in place and keep its ARN."""
        if props.get("Name") and props["Name"] != self.name:
            return super().update(props, new_resource_name)
        backend = _backend(self.ctx)
        spec = props.get("GenerateSecretString")
        secret_string: str | None
        if spec is not None:
            # A new value is generated only when the generation settings change, as on AWS.
            secret_string = generate_secret_string(self.ctx, spec) if spec != self.generate_spec else None
        else:
            secret_string = props.get("SecretString")
        if secret_string is not None:
            # A new value is a new version; moto needs the token boto3 would generate.
            backend.update_secret(
                self.physical_resource_id,
                secret_string=secret_string,
                client_request_token=str(mock_random.uuid4()),
            )
        secret = backend.describe_secret(self.physical_resource_id)
        secret.description = props.get("Description")
        secret.kms_key_id = props.get("KmsKeyId")
        self.generate_spec = spec
        return self


class RotationSchedule(FillIn):
    """Turns rotation on for a secret.

    moto's RotateSecret invokes the rotation Lambda synchronously, inside the request, for all four steps. During a
    stack deploy that would run (or fail to find) a function that may not exist yet, so this records the rotation
    configuration on the secret exactly as RotateSecret does (Lambda ARN, rules, next rotation date) without starting
    an immediate rotation. RotateImmediatelyOnUpdate is therefore treated as false.
    """

    CFN_TYPE = "AWS::SecretsManager::RotationSchedule"

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> RotationSchedule:
        secret_id = require(props, "SecretId", cls.CFN_TYPE)
        if props.get("HostedRotationLambda"):
            raise ValidationError(
                message="AWS::SecretsManager::RotationSchedule HostedRotationLambda is not supported by the local "
                "cloud (it needs the Serverless Application Repository); use RotationLambdaARN"
            )
        secret = _backend(ctx).describe_secret(secret_id)
        cls._configure(secret, props)
        return cls(ctx, secret.arn)

    @staticmethod
    def _configure(secret: Any, props: dict[str, Any]) -> None:
        rules = props.get("RotationRules") or {}
        days = as_int(rules.get("AutomaticallyAfterDays"))
        if days is not None and not 1 <= days <= 1000:
            raise ValidationError(message="RotationRules.AutomaticallyAfterDays must be within 1-1000.")
        secret.rotation_requested = True  # what makes DescribeSecret report the rotation fields
        secret.rotation_lambda_arn = props.get("RotationLambdaARN") or ""
        secret.auto_rotate_after_days = days or 0
        secret.rotation_enabled = bool(secret.rotation_lambda_arn) or secret.auto_rotate_after_days > 0
        if days:
            secret.next_rotation_date = int(time.time()) + days * 86400

    def remove(self) -> None:
        """Removing the schedule turns rotation off (CancelRotateSecret); the secret may already be gone."""
        secret = _backend(self.ctx).secrets.get(self.physical_resource_id)
        if secret is not None and not secret.is_deleted():
            secret.rotation_enabled = False
            secret.rotation_lambda_arn = ""
            secret.auto_rotate_after_days = 0

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        if props.get("SecretId") not in (self.physical_resource_id, None):
            return super().update(props, new_resource_name)
        self._configure(_backend(self.ctx).describe_secret(self.physical_resource_id), props)
        return self


class ResourcePolicy(FillIn):
    """A secret's resource policy (PutResourcePolicy). CDK adds one with every rotation schedule: it denies the account
    DeleteSecret while rotation is on. moto stores the policy and does not enforce it (as for every IAM policy)."""

    CFN_TYPE = "AWS::SecretsManager::ResourcePolicy"
    ATTRIBUTES = frozenset({"Id"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> ResourcePolicy:
        secret_id = require(props, "SecretId", cls.CFN_TYPE)
        policy = require(props, "ResourcePolicy", cls.CFN_TYPE)
        arn, _ = _backend(ctx).put_resource_policy(secret_id, policy if isinstance(policy, str) else json.dumps(policy))
        return cls(ctx, arn, {"Id": arn})

    def remove(self) -> None:
        """The policy goes with the secret; a secret that is already gone has none left to remove."""
        secret = _backend(self.ctx).secrets.get(self.physical_resource_id)
        if secret is not None and not secret.is_deleted():
            secret.policy = None

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        if props.get("SecretId") not in (self.physical_resource_id, None):
            return super().update(props, new_resource_name)
        policy = require(props, "ResourcePolicy", self.CFN_TYPE)
        _backend(self.ctx).put_resource_policy(
            self.physical_resource_id, policy if isinstance(policy, str) else json.dumps(policy)
        )
        return self
