"""AWS::RDS::DBCluster, AWS::RDS::DBInstance (in a cluster) and AWS::SecretsManager::SecretTargetAttachment.

What CDK's ``rds.DatabaseCluster`` (Aurora Serverless v2 writer, ``enableDataApi``, ``Credentials.fromGeneratedSecret``)
synthesises, created in moto's RDS backend with the same calls as the API, so DescribeDBClusters, the Data API and the
local cloud's PostgreSQL engine (``localcloud/rds/clusters.py``, hooked to ``create_db_cluster``) all see it:
- **DBCluster**: moto has no CloudFormation model for it. ``MasterUsername``/``MasterUserPassword`` may be dynamic
  references (``{{resolve:secretsmanager:<secret>:SecretString:password::}}``), which moto's CloudFormation does not
  resolve; they are resolved here, from moto's Secrets Manager. ``EnableHttpEndpoint``,
  ``ServerlessV2ScalingConfiguration`` and ``ManageMasterUserPassword`` pass through.
- **DBInstance** (replaces moto's model): moto's ignored ``DBClusterIdentifier``, so a cluster's writer became a
  stand-alone instance without a master user, and failed. A standalone instance still goes through moto's model.
- **SecretTargetAttachment**: adds the connection fields AWS adds to the secret (``engine``, ``host``, ``port``,
  ``dbClusterIdentifier`` or ``dbInstanceIdentifier``); its ``Ref`` is the secret's ARN, as on AWS.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.moto_api._internal import mock_random
from moto.secretsmanager.models import secretsmanager_backends

from .base import Context, FillIn, as_bool, as_int, random_name_suffix, require, tags_to_list

DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(?P<service>secretsmanager|ssm):(?P<body>[^}]*)\}\}")


def _rds(ctx: Context) -> Any:
    from moto.rds.models import rds_backends  # imported on first use: moto's RDS costs ~30 ms at startup

    return rds_backends[ctx.account_id][ctx.region_name]


def _secrets(ctx: Context) -> Any:
    return secretsmanager_backends[ctx.account_id][ctx.region_name]


def resolve_dynamic_references(ctx: Context, value: Any) -> Any:
    """``{{resolve:secretsmanager:id:SecretString:key:stage:version}}`` and ``{{resolve:ssm:name}}`` in a string."""
    if not isinstance(value, str) or "{{resolve:" not in value:
        return value

    def resolve(match: re.Match[str]) -> str:
        if match["service"] == "ssm":
            from moto.ssm.models import ssm_backends

            name, _, version = match["body"].partition(":")
            parameter = ssm_backends[ctx.account_id][ctx.region_name].get_parameter(
                f"{name}:{version}" if version else name
            )
            if parameter is None:
                raise ValidationError(message=f"Could not resolve {match[0]}: no such SSM parameter")
            return str(parameter.value)
        # secret-id may itself be an ARN (with colons): the last four fields are fixed.
        parts = match["body"].split(":")
        secret_id, fields = (":".join(parts[:-4]), parts[-4:]) if len(parts) > 4 else (parts[0], parts[1:])
        fields += [""] * (4 - len(fields))
        _, json_key, stage, version = fields
        secret = _secrets(ctx).get_secret_value(secret_id, version or None, stage or None)
        text = secret.get("SecretString") or ""
        if not json_key:
            return str(text)
        try:
            return str(json.loads(text)[json_key])
        except (ValueError, KeyError) as exc:
            raise ValidationError(message=f"Could not resolve {match[0]}: no key {json_key!r} in the secret") from exc

    return DYNAMIC_REFERENCE.sub(resolve, value)


def generated_identifier(ctx: Context) -> str:
    """CloudFormation's name for an RDS resource without one: ``<stack>-<logicalid>-<random>``, lowercase."""
    return f"{ctx.stack_name}-{ctx.logical_id}"[:49].lower().rstrip("-") + "-" + random_name_suffix(13).lower()


class DBCluster(FillIn):
    CFN_TYPE = "AWS::RDS::DBCluster"
    NAME_PROPERTY = "DBClusterIdentifier"
    ATTRIBUTES = frozenset(
        {
            "Endpoint.Address",
            "Endpoint.Port",
            "ReadEndpoint.Address",
            "DBClusterArn",
            "DBClusterResourceId",
            "MasterUserSecret.SecretArn",
        }
    )

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> DBCluster:
        engine = require(props, "Engine", cls.CFN_TYPE)
        identifier = str(props.get("DBClusterIdentifier") or generated_identifier(ctx)).lower()
        scaling = props.get("ServerlessV2ScalingConfiguration") or None
        kwargs: dict[str, Any] = {
            "db_cluster_identifier": identifier,
            "engine": engine,
            "engine_version": props.get("EngineVersion"),
            "engine_mode": props.get("EngineMode"),
            "master_username": resolve_dynamic_references(ctx, props.get("MasterUsername")),
            "master_user_password": resolve_dynamic_references(ctx, props.get("MasterUserPassword")),
            "manage_master_user_password": as_bool(props.get("ManageMasterUserPassword")),
            "master_user_secret_kms_key_id": (props.get("MasterUserSecret") or {}).get("KmsKeyId"),
            "database_name": props.get("DatabaseName"),
            "db_cluster_parameter_group_name": props.get("DBClusterParameterGroupName"),
            "db_subnet_group_name": props.get("DBSubnetGroupName"),
            "vpc_security_group_ids": props.get("VpcSecurityGroupIds") or [],
            "port": as_int(props.get("Port")),
            "storage_encrypted": as_bool(props.get("StorageEncrypted")),
            "kms_key_id": props.get("KmsKeyId"),
            "copy_tags_to_snapshot": as_bool(props.get("CopyTagsToSnapshot")),
            "deletion_protection": as_bool(props.get("DeletionProtection")),
            "backup_retention_period": as_int(props.get("BackupRetentionPeriod")) or 1,
            "enable_http_endpoint": as_bool(props.get("EnableHttpEndpoint")),
            "enable_iam_database_authentication": as_bool(props.get("EnableIAMDatabaseAuthentication")),
            "serverless_v2_scaling_configuration": (
                {"MinCapacity": scaling.get("MinCapacity"), "MaxCapacity": scaling.get("MaxCapacity")}
                if scaling
                else None
            ),
            "tags": tags_to_list(props.get("Tags")),
        }
        cluster = _rds(ctx).create_db_cluster({k: v for k, v in kwargs.items() if v is not None})
        return cls(ctx, cluster.db_cluster_identifier, cls._attributes(cluster))

    @staticmethod
    def _attributes(cluster: Any) -> dict[str, Any]:
        attributes = {
            "Endpoint.Address": cluster.endpoint,
            "Endpoint.Port": str(cluster.port),
            "ReadEndpoint.Address": cluster.reader_endpoint,
            "DBClusterArn": cluster.db_cluster_arn,
            "DBClusterResourceId": cluster.db_cluster_resource_id,
        }
        if getattr(cluster, "manage_master_user_password", False):
            attributes["MasterUserSecret.SecretArn"] = cluster.master_user_secret.secret_arn
        return attributes

    def remove(self) -> None:
        """Its instances go first (moto refuses to delete a cluster with members, and deletes in no order)."""
        backend = _rds(self.ctx)
        cluster = backend.clusters.get(self.physical_resource_id)
        if cluster is None:
            return
        for member in list(cluster.members):
            backend.delete_db_instance(member.db_instance_identifier)
        cluster.deletion_protection = False
        backend.delete_db_cluster(self.physical_resource_id)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """A new identifier or engine replaces the cluster; the password and the Data API switch change in place."""
        backend = _rds(self.ctx)
        cluster = backend.clusters.get(self.physical_resource_id)
        identifier = props.get("DBClusterIdentifier")
        if (
            cluster is None
            or (identifier and identifier.lower() != self.physical_resource_id)
            or (props.get("Engine") != cluster.engine)
        ):
            return super().update(props, new_resource_name)
        changes: dict[str, Any] = {"db_cluster_identifier": self.physical_resource_id}
        password = resolve_dynamic_references(self.ctx, props.get("MasterUserPassword"))
        if password:
            changes["master_user_password"] = password
        backend.modify_db_cluster(changes)
        cluster.enable_http_endpoint = as_bool(props.get("EnableHttpEndpoint"))
        cluster.deletion_protection = as_bool(props.get("DeletionProtection"))
        scaling = props.get("ServerlessV2ScalingConfiguration")
        if scaling:
            cluster.serverless_v2_scaling_configuration = {
                "MinCapacity": scaling.get("MinCapacity"),
                "MaxCapacity": scaling.get("MaxCapacity"),
            }
        self.attributes = self._attributes(cluster)
        return self


class DBInstance(FillIn):
    CFN_TYPE = "AWS::RDS::DBInstance"
    NAME_PROPERTY = "DBInstanceIdentifier"
    ATTRIBUTES = frozenset({"Endpoint.Address", "Endpoint.Port", "DBInstanceArn", "DbiResourceId"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> DBInstance:
        cluster_id = props.get("DBClusterIdentifier")
        identifier = str(props.get("DBInstanceIdentifier") or generated_identifier(ctx)).lower()
        if not cluster_id:
            from moto.rds.models import DBInstance as MotoDBInstance

            instance = MotoDBInstance.create_from_cloudformation_json(
                identifier, {"Properties": props}, ctx.account_id, ctx.region_name
            )
        else:
            kwargs = {
                "db_instance_identifier": identifier,
                "db_cluster_identifier": str(cluster_id).lower(),
                "db_instance_class": require(props, "DBInstanceClass", cls.CFN_TYPE),
                "engine": require(props, "Engine", cls.CFN_TYPE),
                "engine_version": props.get("EngineVersion"),
                "promotion_tier": as_int(props.get("PromotionTier")),
                "publicly_accessible": as_bool(props.get("PubliclyAccessible")),
                "availability_zone": props.get("AvailabilityZone"),
                "db_parameter_group_name": props.get("DBParameterGroupName"),
                "tags": tags_to_list(props.get("Tags")),
            }
            instance = _rds(ctx).create_db_instance({k: v for k, v in kwargs.items() if v is not None})
        endpoint = instance.endpoint or {}
        return cls(
            ctx,
            instance.db_instance_identifier,
            {
                "Endpoint.Address": endpoint.get("Address"),
                "Endpoint.Port": str(endpoint.get("Port")),
                "DBInstanceArn": instance.db_instance_arn,
                "DbiResourceId": instance.dbi_resource_id,
            },
        )

    def remove(self) -> None:
        backend = _rds(self.ctx)
        if self.physical_resource_id in backend.databases:
            backend.databases[self.physical_resource_id].deletion_protection = False
            backend.delete_db_instance(self.physical_resource_id)


class SecretTargetAttachment(FillIn):
    CFN_TYPE = "AWS::SecretsManager::SecretTargetAttachment"
    ATTRIBUTES = frozenset()

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> SecretTargetAttachment:
        secret_id = require(props, "SecretId", cls.CFN_TYPE)
        target_id = str(require(props, "TargetId", cls.CFN_TYPE)).lower()
        target_type = require(props, "TargetType", cls.CFN_TYPE)
        backend = _rds(ctx)
        if target_type == "AWS::RDS::DBCluster":
            cluster = backend.clusters.get(target_id)
            if cluster is None:
                raise ValidationError(message=f"DBCluster {target_id} not found")
            fields = {
                "engine": "postgres" if cluster.engine == "aurora-postgresql" else "mysql",
                "host": cluster.endpoint,
                "port": cluster.port,
                "dbClusterIdentifier": cluster.db_cluster_identifier,
            }
        elif target_type == "AWS::RDS::DBInstance":
            instance = backend.databases.get(target_id)
            if instance is None:
                raise ValidationError(message=f"DBInstance {target_id} not found")
            endpoint = instance.endpoint or {}
            fields = {
                "engine": instance.engine,
                "host": endpoint.get("Address"),
                "port": endpoint.get("Port"),
                "dbInstanceIdentifier": instance.db_instance_identifier,
            }
        else:
            raise ValidationError(
                message=f"SecretTargetAttachment TargetType {target_type} is not supported by the local cloud"
            )
        secrets = _secrets(ctx)
        secret = secrets.describe_secret(secret_id)
        current = json.loads(secrets.get_secret_value(secret.arn, None, None).get("SecretString") or "{}")
        secrets.update_secret(
            secret.arn, secret_string=json.dumps({**current, **fields}), client_request_token=str(mock_random.uuid4())
        )
        return cls(ctx, secret.arn)

    def remove(self) -> None:
        """The secret keeps its fields (AWS leaves the secret's value as it is)."""

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        return type(self).create(self.ctx, props)
