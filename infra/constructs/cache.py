"""The edge cache (challenges 1 and 7): ElastiCache Serverless for Valkey in the Database construct's VPC.

- ``AWS::ElastiCache::ServerlessCache`` (L1: there is no L2), engine ``valkey`` 8, in the VPC's isolated subnets. It
  only accepts TLS (ElastiCache Serverless always encrypts in transit), so the functions connect with ``CACHE_TLS``
  true on AWS; the local cloud's cache is plain TCP on loopback and gets false (docs/local-cloud.md). It is a cluster
  to its clients (``CACHE_CLUSTER``: true on AWS). Usage limits cap its cost (data stored, ECPU per second).
- One security group for the cache, one for the functions that use it: the cache admits 6379-6380 from the functions'
  group only. The functions' group may send anywhere, but the subnets are isolated (no NAT, no internet gateway), so
  "anywhere" is the VPC: the cache and the endpoints below.
- Endpoints, only those the functions in the VPC need: DynamoDB (gateway, free), STS (tenant-scoped sessions), AppConfig
  data (feature flags and the rate-limit plans), RDS Data (the read models); Lambda (the aggregator's invokes), and SQS,
  EventBridge, Secrets Manager and Step Functions (deep health's probes). docs/decisions.md (2026-12-05) has the cost.

``place(function, flags=...)`` puts a PythonFunction in the VPC with the clients' group and gives it ``environment``
(and the feature flags, where the rate-limit plans live). The cache invalidator (functions/cache_invalidator) is the
target of a rule on the events that change showtimes, and bumps their cache generations.
"""

from __future__ import annotations

from aws_cdk import Duration, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants
from infra.constructs.bus_target import async_rule_target
from infra.constructs.feature_flags import FeatureFlags
from infra.constructs.function import PythonFunction
from infra.nag import Waiver, waive


class Cache(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        layer: lambda_.ILayerVersion,
        target: str,
        event_bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = vpc
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        self.clients = ec2.SecurityGroup(
            self,
            "Clients",
            vpc=vpc,
            description="Functions that use the cache (isolated subnets: outbound reaches only the VPC)",
            allow_all_outbound=True,
        )
        self.security_group = ec2.SecurityGroup(
            self, "CacheGroup", vpc=vpc, description="The Valkey cache: its clients only", allow_all_outbound=False
        )
        self.security_group.add_ingress_rule(
            self.clients,
            ec2.Port.tcp_range(constants.CACHE_PORT, constants.CACHE_PORT + 1),
            "Valkey from the functions",
        )

        subnet_ids = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids
        self.cache = elasticache.CfnServerlessCache(
            self,
            "Valkey",
            engine="valkey",
            major_engine_version=constants.CACHE_ENGINE_MAJOR_VERSION,
            serverless_cache_name=constants.CACHE_NAME,
            description="Marquee edge cache: cache-aside values and rate-limit state",
            security_group_ids=[self.security_group.security_group_id],
            subnet_ids=subnet_ids,
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    maximum=constants.CACHE_MAX_DATA_GB, unit="GB"
                ),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(
                    maximum=constants.CACHE_MAX_ECPU_PER_SECOND
                ),
            ),
        )
        self.cache.apply_removal_policy(constants.REMOVAL_POLICY)

        vpc.add_gateway_endpoint("DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
        self.endpoints = ec2.SecurityGroup(
            self,
            "EndpointsGroup",
            vpc=vpc,
            description="Interface endpoints: HTTPS from the cache clients only",
            allow_all_outbound=False,
        )
        self.endpoints.add_ingress_rule(self.clients, ec2.Port.tcp(443), "HTTPS from the functions")
        for endpoint_id, service in (
            ("StsEndpoint", ec2.InterfaceVpcEndpointAwsService.STS),
            ("AppConfigDataEndpoint", ec2.InterfaceVpcEndpointAwsService.APPCONFIGDATA),
            ("RdsDataEndpoint", ec2.InterfaceVpcEndpointAwsService.RDS_DATA),
            # Issue 11: the aggregator invokes its backends (Lambda); deep health describes the queue, the bus, the
            # secret and the state machine from inside the VPC.
            ("LambdaEndpoint", ec2.InterfaceVpcEndpointAwsService.LAMBDA_),
            ("SqsEndpoint", ec2.InterfaceVpcEndpointAwsService.SQS),
            ("EventBridgeEndpoint", ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE),
            ("SecretsManagerEndpoint", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
            ("StepFunctionsEndpoint", ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS),
        ):
            vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                subnets=self.subnets,
                private_dns_enabled=True,
                open=False,
                security_groups=[self.endpoints],
            )

        on_aws = "true" if target == constants.TARGET_AWS else "false"
        self.environment = {
            "CACHE_ADDRESS": self.cache.attr_endpoint_address,
            "CACHE_PORT": Token.as_string(self.cache.attr_endpoint_port),
            "CACHE_TLS": on_aws,  # ElastiCache Serverless: TLS only; the local cloud's Valkey: plain TCP on loopback
            "CACHE_CLUSTER": on_aws,
        }

        # ---- invalidation: the events that change a showtime -> bump its generation ---------------------------------
        self.invalidator = PythonFunction(
            self,
            "Invalidator",
            name="cache_invalidator",
            description="Cache invalidator: showtime events -> bump the cached showtime's and listing's generations",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(10),
            environment={},
        )
        self.place(self.invalidator)
        self.invalidator_failures = async_rule_target(
            self,
            function=self.invalidator,
            event_bus=event_bus,
            rule_id="InvalidatingEvents",
            failures_id="InvalidatorFailures",
            description="Events that change a showtime's seats or the listing -> the cache invalidator",
            detail_types=constants.CACHE_INVALIDATING_EVENT_TYPES,
        )

    def place(self, function: PythonFunction, *, flags: FeatureFlags | None = None) -> None:
        """Run ``function`` in the cache's VPC (isolated subnets, the clients' group) with the cache's variables; with
        ``flags``, it also reads the feature flags (the rate-limit plans)."""
        lambda_function = function.function
        if not isinstance(lambda_function, lambda_.Function):
            raise TypeError("Cache.place needs a lambda_.Function")
        cfn = lambda_function.node.default_child
        if not isinstance(cfn, lambda_.CfnFunction):
            raise TypeError("unexpected Lambda construct")
        cfn.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
            security_group_ids=[self.clients.security_group_id],
            subnet_ids=self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
        )
        function.role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
        )
        for name, value in self.environment.items():
            lambda_function.add_environment(name, value)
        if flags is not None:
            for name, value in flags.environment_variables.items():
                lambda_function.add_environment(name, value)
            flags.grant_read(lambda_function)
        waive(
            function.role,
            Waiver(
                "AwsSolutions-IAM4",
                "AWSLambdaVPCAccessExecutionRole is what Lambda needs to manage the function's network interfaces "
                "(ec2:CreateNetworkInterface and friends, which support no resource-level scoping).",
                finding="Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
            ),
        )
