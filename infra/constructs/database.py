"""Relational store: an Aurora PostgreSQL Serverless v2 cluster reached only through the RDS Data API.

- Its own VPC with isolated subnets only (no NAT, no internet gateway): nothing in it calls out, and nothing outside
  reaches it over the network. Functions use the Data API (HTTPS, IAM plus the secret), so they need no VPC, no ENI and
  no connection pool.
- A serverless v2 writer (0.5-4 ACU), the Data API enabled, credentials in a generated Secrets Manager secret.
- The migrate function applies ``functions/migrate/sql`` after each deploy (``marquee deploy`` invokes it on the local
  cloud; on AWS it is the documented post-deploy step, output ``MigrateFunctionName``). A CloudFormation custom
  resource would run it inside the deploy, but the local cloud refuses custom resources (docs/decisions.md).

``grant_data_api(function)`` gives a function the Data API on this cluster and read access to the secret, and
``environment`` is what its ``RelationalEnv`` reads.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from constructs import Construct

from infra import constants
from infra.constructs.function import PythonFunction
from infra.nag import Waiver, waive


class Database(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, layer: lambda_.ILayerVersion, target: str) -> None:
        super().__init__(scope, construct_id)

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
            ],
            # True would add a custom resource that strips the default security group's rules; nothing uses that
            # group here, and the local cloud refuses custom resources.
            restrict_default_security_group=False,
        )
        waive(
            self.vpc,
            Waiver(
                "AwsSolutions-VPC7",
                "The VPC holds only the Aurora cluster's network interfaces, and nothing reaches them over the network: "
                "functions use the Data API. Enable flow logs per deployment if the VPC gains other tenants.",
            ),
        )

        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_9),
            writer=rds.ClusterInstance.serverless_v2("Writer"),
            serverless_v2_min_capacity=0.5,
            serverless_v2_max_capacity=4,
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            credentials=rds.Credentials.from_generated_secret(constants.DB_MASTER_USERNAME),
            default_database_name=constants.DB_NAME,
            enable_data_api=True,
            storage_encrypted=True,
            iam_authentication=True,
            backup=rds.BackupProps(retention=Duration.days(7)),
            removal_policy=constants.REMOVAL_POLICY,
        )
        waive(
            self.cluster,
            Waiver(
                "AwsSolutions-RDS10",
                "A reference stack must leave nothing behind on `cdk destroy`; a production fork turns deletion "
                "protection on together with RETAIN (constants.REMOVAL_POLICY).",
            ),
            Waiver(
                "AwsSolutions-RDS11",
                "Only the Data API reaches the cluster (isolated subnets, no network path), so a non-default port "
                "would hide nothing.",
            ),
            Waiver(
                "AwsSolutions-SMG4",
                "The master secret is used by the Data API only. Its rotation needs the hosted rotation application "
                "(AWS::Serverless::Application), which the local cloud does not run; add "
                "cluster.add_rotation_single_user() on AWS.",
            ),
        )
        secret = self.cluster.secret
        if secret is None:  # from_generated_secret always makes one
            raise ValueError("the cluster has no secret")
        self.secret = secret
        self.environment = {
            "DB_CLUSTER_ARN": self.cluster.cluster_arn,
            "DB_SECRET_ARN": self.secret.secret_arn,
            "DB_NAME": constants.DB_NAME,
        }

        self.migrate = PythonFunction(
            self,
            "Migrate",
            name="migrate",
            description="Applies the versioned SQL migrations (under an advisory lock) after each deploy",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.minutes(5),
            environment=self.environment,
        )
        self.grant_data_api(self.migrate.function)

    def grant_data_api(self, function: lambda_.IFunction) -> None:
        """The Data API on this cluster and the secret it signs in with: all a function needs (no VPC)."""
        self.cluster.grant_data_api_access(function)
