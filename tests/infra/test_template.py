from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk.assertions import Match, Template

from infra import constants

from .conftest import of_type

Resources = dict[str, dict[str, Any]]

# Routes that answer without a token, each for a reason: liveness must work when auth is broken.
PUBLIC_ROUTES = {
    ("GET", "/health"),
    # The dependencies' verdict without details, for Route 53 failover checks (which carry no token); one probe per
    # instance per 10 s, whoever calls.
    ("GET", "/health/ready"),
    # The payment provider calls it without a Cognito token: its Standard Webhooks signature is the authentication.
    ("POST", "/webhooks/inbound/payments"),
    # The API's published contract: documentation, like the page of any public API.
    ("GET", "/openapi.json"),
}

OUTPUTS = {
    "ProjectionsDlqUrl",
    "ApiId",
    "ApiUrl",
    "StageName",
    "TableName",
    "QueueUrl",
    "DlqUrl",
    "OrderSagaArn",
    "EventBusName",
    "SecretArn",
    "StateMachineArn",
    "UserPoolId",
    "UserPoolClientId",
    "Region",
    "WebhookDlqUrl",
    "WebhookInboundSecretArn",
    "DbClusterArn",
    "DbSecretArn",
    "DbName",
    "MigrateFunctionName",
    "OpsTableName",
    "ShardControlTableName",
    "ShardTableNames",
    "ShardRingSize",
    "ShardOperatorPolicyArn",
}


def logical_id(resources: Resources, resource_type: str) -> str:
    (only,) = of_type(resources, resource_type)
    return only


def method_paths(resources: Resources) -> dict[tuple[str, str], dict[str, Any]]:
    """Map (HTTP method, full path) -> Method properties, resolving each Resource's ParentId chain."""
    api_resources = of_type(resources, "AWS::ApiGateway::Resource")

    def path_of(ref: Any) -> str:
        if isinstance(ref, dict) and "Fn::GetAtt" in ref:  # the API's root resource
            return ""
        props = api_resources[ref["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    return {
        (m["Properties"]["HttpMethod"], path_of(m["Properties"]["ResourceId"])): m["Properties"]
        for m in of_type(resources, "AWS::ApiGateway::Method").values()
    }


def test_only_resource_types_the_local_cloud_can_create(resources: Resources) -> None:
    """The local cloud's own check (moto's models plus the fill-ins) accepts every type in the template."""
    from localcloud.cloudformation import resource_types as cfn_fillins

    cfn_fillins.install()
    types = {r["Type"] for r in resources.values()}
    assert cfn_fillins.unsupported_types({"Resources": resources}) == []
    assert not [t for t in types if t.startswith("Custom::") or t == "AWS::CloudFormation::CustomResource"]
    assert "AWS::CDK::Metadata" not in types


def test_outputs_have_fixed_logical_ids(synthesis) -> None:  # noqa: ANN001
    assert set(synthesis.template_json["Outputs"]) == OUTPUTS


def test_stage_output_is_the_constant_stage(template: Template) -> None:
    template.has_resource_properties("AWS::ApiGateway::Stage", {"StageName": constants.API_STAGE_NAME})
    template.has_output("Region", {"Value": {"Ref": "AWS::Region"}})


def test_user_pool_has_an_immutable_tenant_attribute_and_both_groups(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "Schema": Match.array_with(
                [Match.object_like({"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False})]
            )
        },
    )
    template.resource_count_is("AWS::Cognito::UserPoolGroup", 3)
    for group in (constants.GROUP_CUSTOMER, constants.GROUP_STAFF, constants.GROUP_COMPLIANCE):
        template.has_resource_properties("AWS::Cognito::UserPoolGroup", {"GroupName": group})


def test_client_allows_password_flows_without_secret_and_cannot_write_the_tenant(resources: Resources) -> None:
    (client,) = of_type(resources, "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_USER_PASSWORD_AUTH"} <= set(props["ExplicitAuthFlows"])
    assert props["GenerateSecret"] is False
    assert "custom:tenant_id" in props["ReadAttributes"]
    assert "custom:tenant_id" not in props["WriteAttributes"]


def test_rest_api_protects_everything_but_liveness_with_cognito(resources: Resources) -> None:
    assert not of_type(resources, "AWS::ApiGatewayV2::Api")
    authorizer_id = logical_id(resources, "AWS::ApiGateway::Authorizer")
    authorizer = resources[authorizer_id]["Properties"]
    assert authorizer["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["ProviderARNs"] == [{"Fn::GetAtt": [logical_id(resources, "AWS::Cognito::UserPool"), "Arn"]}]

    methods = method_paths(resources)
    assert {("GET", "/health"), ("GET", "/health/deep"), ("GET", "/me"), ("GET", "/me/features")} <= set(methods)
    public = {route for route, props in methods.items() if props["AuthorizationType"] == "NONE"}
    # A new public route is a security decision: add it here on purpose, with the reason it needs no token.
    assert public == PUBLIC_ROUTES
    for route, props in methods.items():
        if route not in PUBLIC_ROUTES:
            assert props["AuthorizationType"] == "COGNITO_USER_POOLS", route
            assert props["AuthorizerId"] == {"Ref": authorizer_id}, route
        else:
            assert "AuthorizerId" not in props
        assert props["Integration"]["Type"] == "AWS_PROXY"


def test_no_account_level_cloudwatch_role(resources: Resources) -> None:
    assert not of_type(resources, "AWS::ApiGateway::Account")


def test_table_has_stream_pitr_and_ttl(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )


def test_work_queue_redrives_to_the_dlq_after_five_receives(resources: Resources) -> None:
    queues = {k: q for k, q in of_type(resources, "AWS::SQS::Queue").items() if k.startswith("Platform")}
    (work,) = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    (dlq_id,) = [k for k, q in queues.items() if "RedrivePolicy" not in q["Properties"]]
    redrive = work["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == constants.QUEUE_MAX_RECEIVE_COUNT == 5
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}


def test_both_queues_refuse_non_tls_access(resources: Resources) -> None:
    policies = [p for k, p in of_type(resources, "AWS::SQS::QueuePolicy").items() if k.startswith("Platform")]
    assert len(policies) == 2
    for policy in policies:
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_secret_is_generated_not_written_in_the_template(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"GenerateStringKey": "apiKey"}), "SecretString": Match.absent()},
    )


def test_state_machine_definition_is_the_asl_file(resources: Resources) -> None:
    machines = of_type(resources, "AWS::StepFunctions::StateMachine")
    (props,) = [m["Properties"] for m in machines.values() if isinstance(m["Properties"]["DefinitionString"], str)]
    assert props["StateMachineType"] == "STANDARD"
    assert json.loads(props["DefinitionString"]) == json.loads(constants.HEALTH_PROBE_ASL.read_text())
    assert "DefinitionS3Location" not in props  # the local cloud's CloudFormation reads DefinitionString only


def functions(resources: Resources) -> dict[str, dict[str, Any]]:
    return {
        f["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]: f["Properties"]
        for f in of_type(resources, "AWS::Lambda::Function").values()
    }


def test_functions_run_python_311_with_the_common_layer(resources: Resources) -> None:
    layer_id = logical_id(resources, "AWS::Lambda::LayerVersion")
    fns = functions(resources)
    assert {"health", "me"} <= set(fns)
    for props in fns.values():
        assert props["Runtime"] == "python3.11"
        # The package keeps its name in the asset: functions.<folder>.handler.<entry> (docs/decisions.md).
        assert re.fullmatch(r"functions\.[a-z_]+\.handler\.[a-z_]+", props["Handler"]), props["Handler"]
        assert props["Layers"] == [{"Ref": layer_id}]
        assert props["MemorySize"] > 0 and props["Timeout"] > 0
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_TRACE_DISABLED"] == "true"  # target=local
        assert {"POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"} <= set(env)


def test_health_function_gets_every_dependency_and_its_limits(resources: Resources) -> None:
    env = functions(resources)["health"]["Environment"]["Variables"]
    assert {
        "TABLE_NAME",
        "QUEUE_URL",
        "EVENT_BUS_NAME",
        "SECRET_ARN",
        "STATE_MACHINE_ARN",
        "HEALTH_CHECK_TIMEOUT_MS",
        "HEALTH_CHECK_WARN_MS",
    } <= set(env)
    assert int(env["HEALTH_CHECK_WARN_MS"]) < int(env["HEALTH_CHECK_TIMEOUT_MS"])
    assert int(env["HEALTH_CHECK_TIMEOUT_MS"]) < functions(resources)["health"]["Timeout"] * 1000
    # Deep health PINGs Valkey with its own timeout, so it runs in the cache's VPC with the cache's address.
    assert {"CACHE_ADDRESS", "CACHE_PORT", "CACHE_TLS", "CACHE_CLUSTER", "CACHE_HEALTH_CHECK_TIMEOUT_MS"} <= set(env)
    assert functions(resources)["health"]["VpcConfig"]["SubnetIds"]


def _actions_of_role(resources: Resources, role_id: str) -> set[str]:
    actions: set[str] = set()
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                listed = statement["Action"]
                actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_each_function_has_its_own_least_privilege_role(resources: Resources) -> None:
    fns = functions(resources)
    health_role = fns["health"]["Role"]["Fn::GetAtt"][0]
    me_role = fns["me"]["Role"]["Fn::GetAtt"][0]
    assert health_role != me_role
    # Health (it PINGs Valkey) and me (rate-limited in Valkey) run in the cache's VPC: the ENI policy is their only
    # managed policy.
    for role in (health_role, me_role):
        (vpc_access,) = resources[role]["Properties"]["ManagedPolicyArns"]
        assert json.dumps(vpc_access).endswith('service-role/AWSLambdaVPCAccessExecutionRole"]]}')

    health_actions = _actions_of_role(resources, health_role)
    assert {
        "dynamodb:DescribeTable",
        "sqs:GetQueueAttributes",
        "events:DescribeEventBus",
        "secretsmanager:DescribeSecret",
        "states:DescribeStateMachine",
    } <= health_actions
    # The Data API signs in with the caller's right to read the cluster's secret (AWS requires it for the SELECT 1
    # probe); no other secret's value is readable.
    readable = [
        json.dumps(statement["Resource"])
        for policy in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": health_role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in _actions(statement)
    ]
    assert readable and all(r.count("DatabaseClusterSecret") == 1 for r in readable), readable
    assert not [a for a in health_actions if a.endswith(":*") or a == "*"]
    assert not [a for a in _actions_of_role(resources, me_role) if a.split(":")[0] in {"dynamodb", "sqs", "states"}]


def test_functions_log_to_their_own_log_group_with_retention(resources: Resources) -> None:
    groups = of_type(resources, "AWS::Logs::LogGroup")
    for props in functions(resources).values():
        group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group_id]["Properties"]["RetentionInDays"] > 0


def test_the_database_is_aurora_serverless_v2_with_the_data_api_in_isolated_subnets(resources: Resources) -> None:
    (cluster,) = of_type(resources, "AWS::RDS::DBCluster").values()
    props = cluster["Properties"]
    assert props["Engine"] == "aurora-postgresql" and props["EnableHttpEndpoint"] is True
    assert props["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 4}
    assert props["StorageEncrypted"] is True
    (instance,) = of_type(resources, "AWS::RDS::DBInstance").values()
    assert instance["Properties"]["DBInstanceClass"] == "db.serverless"
    types = {r["Type"] for r in resources.values()}
    assert "AWS::EC2::NatGateway" not in types and "AWS::EC2::InternetGateway" not in types
    subnets = of_type(resources, "AWS::EC2::Subnet").values()
    assert subnets and all(s["Properties"].get("MapPublicIpOnLaunch") is False for s in subnets)


def test_only_the_database_users_get_the_data_api_and_only_cache_users_are_in_a_vpc(resources: Resources) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    in_vpc = {name.split("Function")[0] for name, f in functions.items() if "VpcConfig" in f["Properties"]}
    assert in_vpc == {
        "CatalogHandler",
        "ProjectionsQueries",
        "CacheInvalidator",
        "SeatHoldsHandler",
        "HealthHandler",  # deep health PINGs Valkey
        "OverviewAggregator",  # tests/infra/test_overview_infra.py
        "OverviewRecommendations",
        "MeHandler",  # rate-limited (the limiter's Valkey)
        "SearchHandler",
        "WebhooksApi",
        "NotificationsApi",
        "OrdersApi",
    }  # tests/infra/test_cache_infra.py
    users = set()
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        actions = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in _actions(s)}
        if any(a.startswith("rds-data:") for a in actions):
            users |= {r["Ref"].split("Role")[0] for r in policy["Properties"]["Roles"]}
    # the read side (queries, search), the projector that writes it, and the migrations; the catalog writes DynamoDB only
    assert {u.split("Handler")[0].split("Migrate")[0] for u in users} == {
        "Health",  # deep health's SELECT 1
        "Search",
        "Database",
        "ProjectionsProjector",
        "ProjectionsQueries",
    }


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]
