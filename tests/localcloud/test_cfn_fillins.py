"""Parity tests for the CloudFormation fill-ins (localcloud/cloudformation/resource_types.py).

Each test deploys a template into moto's CloudFormation in-process, the way `cdk deploy` does against the local cloud,
and then looks at the resources through the ordinary boto3 APIs of their services.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto.cloudformation import parsing

from localcloud.appconfig import store as appconfig_store
from localcloud.cloudformation.resource_types import install

REGION = "us-east-1"
ACCOUNT = "123456789012"
FIXTURES = Path(__file__).parent / "fixtures"


class Aws:
    """boto3 clients on the mocked account, plus a deploy helper that returns the stack's outputs."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        name = service.rstrip("_").replace("_", "-")
        if name not in self._clients:
            self._clients[name] = boto3.client(name, region_name=REGION)
        return self._clients[name]

    def deploy(self, stack: str, template: dict[str, Any], **kwargs: Any) -> dict[str, str]:
        self.cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template), **kwargs)
        return self.outputs(stack)

    def outputs(self, stack: str) -> dict[str, str]:
        described = self.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        assert described["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []}

    def update(self, stack: str, template: dict[str, Any]) -> dict[str, str]:
        self.cloudformation.update_stack(StackName=stack, TemplateBody=json.dumps(template))
        return self.outputs(stack)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with moto.mock_aws():
        install()
        yield Aws()


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def error_message(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Message"])


def outputs_for(**values: Any) -> dict[str, Any]:
    return {key: {"Value": value} for key, value in values.items()}


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


# --- Cognito ------------------------------------------------------------------------------------------------------


def user_pool_template(password_length: int = 12) -> dict[str, Any]:
    return {
        "Resources": {
            "Pool": {
                "Type": "AWS::Cognito::UserPool",
                "Properties": {
                    "UserPoolName": "marquee-users",
                    "UsernameAttributes": ["email"],
                    "AutoVerifiedAttributes": ["email"],
                    "Schema": [
                        {"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True},
                        {
                            "Name": "tenant_id",
                            "AttributeDataType": "String",
                            "Mutable": False,
                            "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"},
                        },
                    ],
                    "Policies": {"PasswordPolicy": {"MinimumLength": password_length, "RequireSymbols": False}},
                },
            },
            "Client": {
                "Type": "AWS::Cognito::UserPoolClient",
                "Properties": {
                    "UserPoolId": ref("Pool"),
                    "ClientName": "web",
                    "GenerateSecret": True,
                    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                },
            },
            "Staff": {
                "Type": "AWS::Cognito::UserPoolGroup",
                "Properties": {
                    "UserPoolId": ref("Pool"),
                    "GroupName": "staff",
                    "Precedence": 1,
                    "Description": "cinema staff",
                },
            },
        },
        "Outputs": outputs_for(
            PoolId=ref("Pool"),
            PoolArn=get_att("Pool", "Arn"),
            ProviderName=get_att("Pool", "ProviderName"),
            ProviderURL=get_att("Pool", "ProviderURL"),
            PoolIdAtt=get_att("Pool", "UserPoolId"),
            ClientId=ref("Client"),
            ClientSecret=get_att("Client", "ClientSecret"),
            ClientName=get_att("Client", "Name"),
            Group=ref("Staff"),
        ),
    }


def test_user_pool_client_and_group_exist_with_aws_refs_and_attributes(aws: Aws) -> None:
    """AWS: Ref on a user pool is its id; GetAtt Arn/ProviderName/ProviderURL/UserPoolId; a custom schema attribute
    `tenant_id` is `custom:tenant_id`; Ref on a client is its id and GetAtt ClientSecret its secret; Ref on a group is
    its name."""
    out = aws.deploy("identity", user_pool_template())

    pool = aws.cognito_idp.describe_user_pool(UserPoolId=out["PoolId"])["UserPool"]
    assert pool["Name"] == "marquee-users"
    assert out["PoolArn"] == pool["Arn"]
    assert out["PoolIdAtt"] == out["PoolId"]
    assert out["ProviderName"] == f"cognito-idp.{REGION}.amazonaws.com/{out['PoolId']}"
    assert out["ProviderURL"] == f"https://cognito-idp.{REGION}.amazonaws.com/{out['PoolId']}"
    attributes = {a["Name"]: a for a in pool["SchemaAttributes"]}
    assert attributes["custom:tenant_id"]["Mutable"] is False
    assert "email" in attributes and "sub" in attributes  # standard attributes stay, as on AWS
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["UsernameAttributes"] == ["email"]

    client = aws.cognito_idp.describe_user_pool_client(UserPoolId=out["PoolId"], ClientId=out["ClientId"])
    client = client["UserPoolClient"]
    assert client["ClientSecret"] == out["ClientSecret"]
    assert out["ClientName"] == client["ClientName"] == "web"
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]

    group = aws.cognito_idp.get_group(UserPoolId=out["PoolId"], GroupName=out["Group"])["Group"]
    assert (group["GroupName"], group["Precedence"], group["Description"]) == ("staff", 1, "cinema staff")


def test_user_pool_users_get_custom_tenant_attribute(aws: Aws) -> None:
    """AWS: a custom attribute declared in the pool's Schema is set and read back as `custom:<name>`."""
    out = aws.deploy("identity", user_pool_template())
    aws.cognito_idp.admin_create_user(
        UserPoolId=out["PoolId"],
        Username="ana@example.com",
        UserAttributes=[{"Name": "email", "Value": "ana@example.com"}, {"Name": "custom:tenant_id", "Value": "t-1"}],
    )
    user = aws.cognito_idp.admin_get_user(UserPoolId=out["PoolId"], Username="ana@example.com")
    assert {"Name": "custom:tenant_id", "Value": "t-1"} in user["UserAttributes"]


def test_user_pool_update_keeps_the_pool_id_and_applies_the_change(aws: Aws) -> None:
    """AWS: changing a user pool's password policy is an in-place update; the pool id (and so every token issuer
    URL) stays the same."""
    before = aws.deploy("identity", user_pool_template(password_length=12))
    after = aws.update("identity", user_pool_template(password_length=16))

    assert after["PoolId"] == before["PoolId"]
    assert after["ClientId"] == before["ClientId"]
    pool = aws.cognito_idp.describe_user_pool(UserPoolId=after["PoolId"])["UserPool"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 16


def test_deleting_the_stack_deletes_the_user_pool_and_its_children(aws: Aws) -> None:
    """AWS: deleting the stack deletes the pool, its client and its group."""
    out = aws.deploy("identity", user_pool_template())
    aws.cloudformation.delete_stack(StackName="identity")

    with pytest.raises(ClientError) as exc:
        aws.cognito_idp.describe_user_pool(UserPoolId=out["PoolId"])
    assert error_code(exc) == "ResourceNotFoundException"
    assert aws.cognito_idp.list_user_pools(MaxResults=10)["UserPools"] == []


# --- Secrets Manager ----------------------------------------------------------------------------------------------


def test_generated_secret_merges_password_into_template_under_the_key(aws: Aws) -> None:
    """AWS: GenerateSecretString with SecretStringTemplate + GenerateStringKey stores the template's JSON with a
    random password under that key, honouring PasswordLength and the exclusions. Without a Name the secret is named
    `<LogicalId>-<random>`. Ref on a secret is its ARN."""
    template = {
        "Resources": {
            "PaymentsApiKey": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "Description": "payment provider credentials",
                    "GenerateSecretString": {
                        "SecretStringTemplate": json.dumps({"username": "marquee"}),
                        "GenerateStringKey": "password",
                        "PasswordLength": 40,
                        "ExcludePunctuation": True,
                        "ExcludeCharacters": "aeiou",
                    },
                    "Tags": [{"Key": "capability", "Value": "payments"}],
                },
            }
        },
        "Outputs": outputs_for(Arn=ref("PaymentsApiKey"), Id=get_att("PaymentsApiKey", "Id")),
    }
    out = aws.deploy("secrets", template)

    described = aws.secretsmanager.describe_secret(SecretId=out["Arn"])
    assert described["ARN"] == out["Arn"] == out["Id"]
    assert described["Name"].startswith("PaymentsApiKey-")
    assert described["Description"] == "payment provider credentials"
    assert {"Key": "capability", "Value": "payments"} in described["Tags"]
    value = json.loads(aws.secretsmanager.get_secret_value(SecretId=out["Arn"])["SecretString"])
    assert value["username"] == "marquee"
    assert len(value["password"]) == 40
    assert value["password"].isalnum()
    assert not set("aeiou") & set(value["password"])


def test_plain_secret_string_with_name_and_delete(aws: Aws) -> None:
    """AWS: SecretString is stored as given under the given Name; deleting the stack deletes the secret, and the name
    can be used again straight away."""
    template = {
        "Resources": {
            "Webhook": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"Name": "marquee/webhook-signing", "SecretString": "s3cr3t"},
            }
        },
        "Outputs": outputs_for(Arn=ref("Webhook")),
    }
    out = aws.deploy("secrets", template)
    assert aws.secretsmanager.get_secret_value(SecretId="marquee/webhook-signing")["SecretString"] == "s3cr3t"
    assert out["Arn"].split(":secret:")[1].startswith("marquee/webhook-signing-")

    aws.cloudformation.delete_stack(StackName="secrets")
    with pytest.raises(ClientError) as exc:
        aws.secretsmanager.describe_secret(SecretId="marquee/webhook-signing")
    assert error_code(exc) == "ResourceNotFoundException"
    aws.deploy("secrets-again", template)


def test_secret_update_keeps_its_arn(aws: Aws) -> None:
    """AWS: changing a secret's SecretString or Description updates it in place; the ARN does not change."""

    def template(value: str) -> dict[str, Any]:
        return {
            "Resources": {
                "S": {
                    "Type": "AWS::SecretsManager::Secret",
                    "Properties": {"SecretString": value, "Description": f"v-{value}"},
                }
            },
            "Outputs": outputs_for(Arn=ref("S")),
        }

    before = aws.deploy("secrets", template("one"))
    after = aws.update("secrets", template("two"))
    assert after["Arn"] == before["Arn"]
    assert aws.secretsmanager.get_secret_value(SecretId=after["Arn"])["SecretString"] == "two"
    assert aws.secretsmanager.describe_secret(SecretId=after["Arn"])["Description"] == "v-two"


def rotation_function() -> dict[str, Any]:
    return {
        "RotationRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        "Rotator": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": get_att("RotationRole", "Arn"),
                "Code": {"ZipFile": "def handler(event, context):\n    raise RuntimeError('must not run')\n"},
            },
        },
    }


def test_rotation_schedule_turns_rotation_on_without_rotating_now(aws: Aws) -> None:
    """AWS: a RotationSchedule sets the rotation Lambda and rules on the secret (DescribeSecret shows RotationEnabled,
    RotationLambdaARN, RotationRules). The local cloud does not start the immediate rotation, because moto would run
    the Lambda synchronously inside the deploy: the secret keeps exactly one version, its original value."""
    template = {
        "Resources": {
            **rotation_function(),
            "Db": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "original"}},
            "DbRotation": {
                "Type": "AWS::SecretsManager::RotationSchedule",
                "Properties": {
                    "SecretId": ref("Db"),
                    "RotationLambdaARN": get_att("Rotator", "Arn"),
                    "RotationRules": {"AutomaticallyAfterDays": 30},
                },
            },
        },
        "Outputs": outputs_for(Arn=ref("Db"), Rotator=get_att("Rotator", "Arn")),
    }
    out = aws.deploy("rotation", template)

    described = aws.secretsmanager.describe_secret(SecretId=out["Arn"])
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"] == out["Rotator"]
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert "NextRotationDate" in described
    assert len(described["VersionIdsToStages"]) == 1
    assert aws.secretsmanager.get_secret_value(SecretId=out["Arn"])["SecretString"] == "original"


# --- queue and bucket policies ------------------------------------------------------------------------------------


def queue_policy_template(action: str) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": action, "Resource": "*"}
    return {
        "Resources": {
            "Orders": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orders"}},
            "Notifications": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "notifications"}},
            "EventsCanSend": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [ref("Orders"), ref("Notifications")],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                },
            },
        },
        "Outputs": outputs_for(PolicyId=ref("EventsCanSend")),
    }


def queue_policy(aws: Aws, name: str) -> dict[str, Any] | None:
    url = aws.sqs.get_queue_url(QueueName=name)["QueueUrl"]
    text = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
    return json.loads(text) if text else None


def test_queue_policy_is_set_on_every_listed_queue_and_follows_updates(aws: Aws) -> None:
    """AWS: AWS::SQS::QueuePolicy sets the `Policy` attribute of each queue in Queues (by URL, what Ref on a queue
    returns); an update replaces the document on all of them."""
    aws.deploy("queues", queue_policy_template("sqs:SendMessage"))
    for name in ("orders", "notifications"):
        policy = queue_policy(aws, name)
        assert policy is not None
        assert policy["Statement"][0]["Action"] == "sqs:SendMessage"

    aws.update("queues", queue_policy_template("sqs:*"))
    assert queue_policy(aws, "orders")["Statement"][0]["Action"] == "sqs:*"  # type: ignore[index]


def test_deleting_a_queue_policy_clears_the_attribute(aws: Aws) -> None:
    """AWS: removing the QueuePolicy resource removes the queue's policy; the queue itself stays."""
    aws.deploy("queues", queue_policy_template("sqs:SendMessage"))
    without_policy = queue_policy_template("sqs:SendMessage")
    del without_policy["Resources"]["EventsCanSend"]
    del without_policy["Outputs"]
    aws.update("queues", without_policy)
    assert queue_policy(aws, "orders") is None


def test_bucket_policy_is_put_and_deleted_with_the_stack(aws: Aws) -> None:
    """AWS: AWS::S3::BucketPolicy is PutBucketPolicy on Bucket; deleting it is DeleteBucketPolicy."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::marquee-uploads/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    template = {
        "Resources": {
            "Uploads": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": "marquee-uploads"},
                "DeletionPolicy": "Retain",
            },
            "UploadsPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": ref("Uploads"), "PolicyDocument": document},
            },
        }
    }
    aws.deploy("storage", template)
    assert json.loads(aws.s3.get_bucket_policy(Bucket="marquee-uploads")["Policy"]) == document

    aws.cloudformation.delete_stack(StackName="storage")
    with pytest.raises(ClientError) as exc:
        aws.s3.get_bucket_policy(Bucket="marquee-uploads")
    assert error_code(exc) == "NoSuchBucketPolicy"


# --- API Gateway --------------------------------------------------------------------------------------------------

LAMBDA_URI = (
    f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
    f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders/invocations"
)


def rest_api_template(stage_variables: dict[str, str] | None = None, deployment_id: str = "Deployment1") -> dict:
    return {
        "Resources": {
            "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {"UserPoolName": "users"}},
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "marquee"}},
            "Orders": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {
                    "RestApiId": ref("Api"),
                    "ParentId": get_att("Api", "RootResourceId"),
                    "PathPart": "orders",
                },
            },
            "Authorizer": {
                "Type": "AWS::ApiGateway::Authorizer",
                "Properties": {
                    "RestApiId": ref("Api"),
                    "Name": "cognito",
                    "Type": "COGNITO_USER_POOLS",
                    "ProviderARNs": [get_att("Pool", "Arn")],
                    "IdentitySource": "method.request.header.Authorization",
                },
            },
            "PostOrders": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": ref("Api"),
                    "ResourceId": ref("Orders"),
                    "HttpMethod": "POST",
                    "AuthorizationType": "COGNITO_USER_POOLS",
                    "AuthorizerId": ref("Authorizer"),
                    "AuthorizationScopes": ["orders/write"],
                    "ApiKeyRequired": True,
                    "RequestParameters": {"method.request.header.Idempotency-Key": True},
                    "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": LAMBDA_URI},
                },
            },
            "OptionsOrders": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": ref("Api"),
                    "ResourceId": ref("Orders"),
                    "HttpMethod": "OPTIONS",
                    "AuthorizationType": "NONE",
                    "Integration": {
                        "Type": "MOCK",
                        "RequestTemplates": {"application/json": "{ statusCode: 200 }"},
                        "IntegrationResponses": [
                            {
                                "StatusCode": "204",
                                "ResponseParameters": {"method.response.header.Access-Control-Allow-Origin": "'*'"},
                            }
                        ],
                    },
                    "MethodResponses": [
                        {
                            "StatusCode": "204",
                            "ResponseParameters": {"method.response.header.Access-Control-Allow-Origin": True},
                        }
                    ],
                },
            },
            deployment_id: {
                "Type": "AWS::ApiGateway::Deployment",
                "DependsOn": ["PostOrders", "OptionsOrders"],
                "Properties": {"RestApiId": ref("Api"), "Description": "marquee"},
            },
            "Prod": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {
                    "RestApiId": ref("Api"),
                    "DeploymentId": ref(deployment_id),
                    "StageName": "prod",
                    "Variables": stage_variables or {"tier": "gold"},
                    "TracingEnabled": True,
                    "MethodSettings": [
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "MetricsEnabled": True,
                            "ThrottlingBurstLimit": 50,
                            "ThrottlingRateLimit": 100,
                        }
                    ],
                },
            },
        },
        "Outputs": outputs_for(
            ApiId=ref("Api"),
            OrdersId=ref("Orders"),
            AuthorizerId=ref("Authorizer"),
            AuthorizerIdAtt=get_att("Authorizer", "AuthorizerId"),
            DeploymentId=ref(deployment_id),
            Stage=ref("Prod"),
            PoolArn=get_att("Pool", "Arn"),
        ),
    }


def test_rest_api_methods_keep_authorizer_and_integration_for_the_front_door(aws: Aws) -> None:
    """AWS: GetMethod returns the method's authorizationType, authorizerId, scopes, apiKeyRequired, request parameters
    and its integration (type, uri, httpMethod; a MOCK integration has no uri and keeps its request templates and
    integration responses). Ref on an Authorizer is its id (= GetAtt AuthorizerId)."""
    out = aws.deploy("api", rest_api_template())
    assert out["AuthorizerId"] == out["AuthorizerIdAtt"]

    post = aws.apigateway.get_method(restApiId=out["ApiId"], resourceId=out["OrdersId"], httpMethod="POST")
    assert post["authorizationType"] == "COGNITO_USER_POOLS"
    assert post["authorizerId"] == out["AuthorizerId"]
    assert post["authorizationScopes"] == ["orders/write"]
    assert post["apiKeyRequired"] is True
    assert post["requestParameters"] == {"method.request.header.Idempotency-Key": True}
    integration = post["methodIntegration"]
    assert (integration["type"], integration["uri"], integration["httpMethod"]) == ("AWS_PROXY", LAMBDA_URI, "POST")

    options = aws.apigateway.get_method(restApiId=out["ApiId"], resourceId=out["OrdersId"], httpMethod="OPTIONS")
    assert options["authorizationType"] == "NONE"
    assert options["methodIntegration"]["type"] == "MOCK"
    assert options["methodIntegration"]["requestTemplates"] == {"application/json": "{ statusCode: 200 }"}
    assert "204" in options["methodIntegration"]["integrationResponses"]
    assert "204" in options["methodResponses"]

    authorizer = aws.apigateway.get_authorizer(restApiId=out["ApiId"], authorizerId=out["AuthorizerId"])
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [out["PoolArn"]]
    assert authorizer["identitySource"] == "method.request.header.Authorization"


def test_stage_points_at_the_deployment_with_variables_and_settings(aws: Aws) -> None:
    """AWS: Ref on a Deployment is its id and on a Stage its name; the stage carries the deployment id, variables,
    tracing and method settings (`*/*` for ResourcePath `/*` and HttpMethod `*`)."""
    out = aws.deploy("api", rest_api_template())
    assert out["Stage"] == "prod"

    stage = aws.apigateway.get_stage(restApiId=out["ApiId"], stageName="prod")
    assert stage["deploymentId"] == out["DeploymentId"]
    assert stage["variables"] == {"tier": "gold"}
    assert stage["tracingEnabled"] is True
    settings = stage["methodSettings"]["*/*"]
    assert (settings["metricsEnabled"], settings["throttlingBurstLimit"], settings["throttlingRateLimit"]) == (
        True,
        50,
        100.0,
    )
    deployment = aws.apigateway.get_deployment(restApiId=out["ApiId"], deploymentId=out["DeploymentId"])
    assert deployment["description"] == "marquee"


def test_redeploying_the_api_moves_the_stage_to_the_new_deployment(aws: Aws) -> None:
    """AWS (and CDK's pattern): a changed API gets a Deployment with a new logical id; the Stage is updated in place
    to point at it and keeps its name; the old deployment is deleted."""
    before = aws.deploy("api", rest_api_template(deployment_id="Deployment1"))
    after = aws.update("api", rest_api_template({"tier": "silver"}, deployment_id="Deployment2"))

    assert after["DeploymentId"] != before["DeploymentId"]
    stage = aws.apigateway.get_stage(restApiId=after["ApiId"], stageName="prod")
    assert stage["deploymentId"] == after["DeploymentId"]
    assert stage["variables"] == {"tier": "silver"}
    deployments = aws.apigateway.get_deployments(restApiId=after["ApiId"])["items"]
    assert [d["id"] for d in deployments] == [after["DeploymentId"]]


def test_deleting_the_api_stack_removes_stage_authorizer_and_methods(aws: Aws) -> None:
    """AWS: deleting the stack deletes the stage, the authorizer and the methods."""
    out = aws.deploy("api", rest_api_template())
    aws.cloudformation.delete_stack(StackName="api")

    with pytest.raises(ClientError):
        aws.apigateway.get_stage(restApiId=out["ApiId"], stageName="prod")
    assert aws.apigateway.get_authorizers(restApiId=out["ApiId"])["items"] == []
    with pytest.raises(ClientError):
        aws.apigateway.get_method(restApiId=out["ApiId"], resourceId=out["OrdersId"], httpMethod="POST")


def test_usage_plan_api_key_and_account(aws: Aws) -> None:
    """AWS: Ref on ApiKey and UsagePlan is the id (ApiKey also GetAtt APIKeyId); UsagePlanKey attaches the key to
    the plan; AWS::ApiGateway::Account records the CloudWatch role on the account (GetAccount)."""
    template = rest_api_template()
    template["Resources"].update(
        {
            "PartnerKey": {
                "Type": "AWS::ApiGateway::ApiKey",
                "Properties": {
                    "Name": "partner",
                    "Enabled": True,
                    "StageKeys": [{"RestApiId": ref("Api"), "StageName": ref("Prod")}],
                },
            },
            "Plan": {
                "Type": "AWS::ApiGateway::UsagePlan",
                "Properties": {
                    "UsagePlanName": "partners",
                    "ApiStages": [{"ApiId": ref("Api"), "Stage": ref("Prod")}],
                    "Throttle": {"BurstLimit": 10, "RateLimit": 5},
                    "Quota": {"Limit": 1000, "Period": "DAY"},
                },
            },
            "PlanKey": {
                "Type": "AWS::ApiGateway::UsagePlanKey",
                "Properties": {"KeyId": ref("PartnerKey"), "KeyType": "API_KEY", "UsagePlanId": ref("Plan")},
            },
            "Account": {
                "Type": "AWS::ApiGateway::Account",
                "Properties": {"CloudWatchRoleArn": f"arn:aws:iam::{ACCOUNT}:role/apigw-logs"},
            },
        }
    )
    template["Outputs"].update(
        outputs_for(
            KeyId=ref("PartnerKey"),
            KeyIdAtt=get_att("PartnerKey", "APIKeyId"),
            PlanId=ref("Plan"),
            PlanKey=ref("PlanKey"),
            AccountId=ref("Account"),
        )
    )
    out = aws.deploy("api", template)

    assert out["KeyId"] == out["KeyIdAtt"] == out["PlanKey"]
    key = aws.apigateway.get_api_key(apiKey=out["KeyId"])
    assert (key["name"], key["enabled"]) == ("partner", True)
    plan = aws.apigateway.get_usage_plan(usagePlanId=out["PlanId"])
    assert plan["name"] == "partners"
    assert plan["apiStages"] == [{"apiId": out["ApiId"], "stage": "prod"}]
    assert plan["throttle"] == {"burstLimit": 10, "rateLimit": 5}
    assert plan["quota"]["limit"] == 1000
    keys = aws.apigateway.get_usage_plan_keys(usagePlanId=out["PlanId"])["items"]
    assert [k["id"] for k in keys] == [out["KeyId"]]
    assert aws.apigateway.get_account()["cloudwatchRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/apigw-logs"
    assert out["AccountId"]

    aws.cloudformation.delete_stack(StackName="api")
    assert aws.apigateway.get_api_keys()["items"] == []
    assert aws.apigateway.get_usage_plans()["items"] == []


# --- Lambda, CloudWatch -------------------------------------------------------------------------------------------


def test_lambda_alias_and_event_invoke_config(aws: Aws) -> None:
    """AWS: Ref on AWS::Lambda::Alias is the alias ARN; AWS::Lambda::EventInvokeConfig sets the function's
    MaximumRetryAttempts, MaximumEventAgeInSeconds and DestinationConfig for asynchronous invokes."""
    template = {
        "Resources": {
            **rotation_function(),
            "Failures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "payments-failures"}},
            "Version": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": ref("Rotator")}},
            "Live": {
                "Type": "AWS::Lambda::Alias",
                "Properties": {
                    "FunctionName": ref("Rotator"),
                    "Name": "live",
                    "FunctionVersion": get_att("Version", "Version"),
                },
            },
            "Async": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {
                    "FunctionName": ref("Rotator"),
                    "Qualifier": "$LATEST",
                    "MaximumRetryAttempts": 1,
                    "MaximumEventAgeInSeconds": 600,
                    "DestinationConfig": {"OnFailure": {"Destination": get_att("Failures", "Arn")}},
                },
            },
        },
        "Outputs": outputs_for(AliasArn=ref("Live"), Function=ref("Rotator"), Queue=get_att("Failures", "Arn")),
    }
    out = aws.deploy("fn", template)

    alias = aws.lambda_.get_alias(FunctionName=out["Function"], Name="live")
    assert (
        alias["AliasArn"] == out["AliasArn"] == (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{out['Function']}:live")
    )
    assert alias["FunctionVersion"] == "1"
    config = aws.lambda_.get_function_event_invoke_config(FunctionName=out["Function"])
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (1, 600)
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == out["Queue"]

    aws.cloudformation.delete_stack(StackName="fn")
    with pytest.raises(ClientError):
        aws.lambda_.get_function(FunctionName=out["Function"])


def test_cloudwatch_alarm_is_put_with_its_properties(aws: Aws) -> None:
    """AWS: Ref on AWS::CloudWatch::Alarm is the alarm name, GetAtt Arn its ARN; deleting the stack deletes it."""
    template = {
        "Resources": {
            "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orders-dlq"}},
            "Alerts": {"Type": "AWS::SNS::Topic"},
            "DlqNotEmpty": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmDescription": "messages in the orders DLQ",
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": get_att("Dlq", "QueueName")}],
                    "Statistic": "Maximum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "TreatMissingData": "notBreaching",
                    "AlarmActions": [ref("Alerts")],
                },
            },
        },
        "Outputs": outputs_for(Name=ref("DlqNotEmpty"), Arn=get_att("DlqNotEmpty", "Arn"), Topic=ref("Alerts")),
    }
    out = aws.deploy("alarms", template)

    alarms = aws.cloudwatch.describe_alarms(AlarmNames=[out["Name"]])["MetricAlarms"]
    assert len(alarms) == 1
    alarm = alarms[0]
    assert alarm["AlarmArn"] == out["Arn"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "orders-dlq"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0.0, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == [out["Topic"]]
    assert out["Name"].startswith("alarms-DlqNotEmpty-")

    aws.cloudformation.delete_stack(StackName="alarms")
    assert aws.cloudwatch.describe_alarms(AlarmNames=[out["Name"]])["MetricAlarms"] == []


# --- EventBridge Scheduler and Pipes ------------------------------------------------------------------------------


def test_schedule_and_pipe_exist_in_their_services(aws: Aws) -> None:
    """AWS: Ref on AWS::Scheduler::Schedule and AWS::Pipes::Pipe is the name, GetAtt Arn the ARN. moto has both
    services, so the fill-ins create real records there (moto runs neither)."""
    role = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
    template = {
        "Resources": {
            "Source": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "outbox"}},
            "Target": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "projections"}},
            "Group": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": "marquee"}},
            "Nightly": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "Name": "nightly-report",
                    "GroupName": ref("Group"),
                    "ScheduleExpression": "cron(0 3 * * ? *)",
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {"Arn": get_att("Target", "Arn"), "RoleArn": role, "Input": "{}"},
                },
            },
            "Outbox": {
                "Type": "AWS::Pipes::Pipe",
                "Properties": {
                    "Name": "outbox-pipe",
                    "Source": get_att("Source", "Arn"),
                    "Target": get_att("Target", "Arn"),
                    "RoleArn": role,
                },
            },
        },
        "Outputs": outputs_for(
            Schedule=ref("Nightly"),
            ScheduleArn=get_att("Nightly", "Arn"),
            Pipe=ref("Outbox"),
            PipeArn=get_att("Outbox", "Arn"),
            Target=get_att("Target", "Arn"),
        ),
    }
    out = aws.deploy("events", template)

    schedule = aws.scheduler.get_schedule(Name="nightly-report", GroupName="marquee")
    assert schedule["Arn"] == out["ScheduleArn"] and out["Schedule"] == "nightly-report"
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["Target"]["Arn"] == out["Target"]
    pipe = aws.pipes.describe_pipe(Name="outbox-pipe")
    assert pipe["Arn"] == out["PipeArn"] and out["Pipe"] == "outbox-pipe"
    assert pipe["Target"] == out["Target"]

    aws.cloudformation.delete_stack(StackName="events")
    with pytest.raises(ClientError):
        aws.pipes.describe_pipe(Name="outbox-pipe")
    with pytest.raises(ClientError):
        aws.scheduler.get_schedule(Name="nightly-report", GroupName="marquee")


# --- AppConfig ----------------------------------------------------------------------------------------------------


def appconfig_template(flags: dict[str, Any], version_id: str = "Version1") -> dict[str, Any]:
    return {
        "Resources": {
            "App": {"Type": "AWS::AppConfig::Application", "Properties": {"Name": "marquee"}},
            "Prod": {
                "Type": "AWS::AppConfig::Environment",
                "Properties": {"ApplicationId": ref("App"), "Name": "prod"},
            },
            "Flags": {
                "Type": "AWS::AppConfig::ConfigurationProfile",
                "Properties": {
                    "ApplicationId": ref("App"),
                    "Name": "feature-flags",
                    "LocationUri": "hosted",
                    "Type": "AWS.AppConfig.FeatureFlags",
                },
            },
            version_id: {
                "Type": "AWS::AppConfig::HostedConfigurationVersion",
                "Properties": {
                    "ApplicationId": ref("App"),
                    "ConfigurationProfileId": ref("Flags"),
                    "Content": json.dumps(flags),
                    "ContentType": "application/json",
                },
            },
            "Quick": {
                "Type": "AWS::AppConfig::DeploymentStrategy",
                "Properties": {
                    "Name": "quick",
                    "DeploymentDurationInMinutes": 0,
                    "GrowthFactor": 100,
                    "ReplicateTo": "NONE",
                },
            },
            f"Deploy{version_id}": {
                "Type": "AWS::AppConfig::Deployment",
                "Properties": {
                    "ApplicationId": ref("App"),
                    "EnvironmentId": ref("Prod"),
                    "ConfigurationProfileId": ref("Flags"),
                    "ConfigurationVersion": ref(version_id),
                    "DeploymentStrategyId": ref("Quick"),
                },
            },
        },
        "Outputs": outputs_for(
            App=ref("App"),
            Env=ref("Prod"),
            Profile=ref("Flags"),
            Version=ref(version_id),
            Strategy=ref("Quick"),
            DeploymentNumber=get_att(f"Deploy{version_id}", "DeploymentNumber"),
        ),
    }


def test_appconfig_deploys_a_hosted_version_to_an_environment(aws: Aws) -> None:
    """AWS: Application, ConfigurationProfile and HostedConfigurationVersion exist in AppConfig (Refs: application
    id, profile id, version number); a Deployment makes that version the live configuration of the environment, which
    is what appconfigdata serves."""
    out = aws.deploy("flags", appconfig_template({"new-checkout": {"enabled": True}}))

    assert aws.appconfig.get_application(ApplicationId=out["App"])["Name"] == "marquee"
    profile = aws.appconfig.get_configuration_profile(ApplicationId=out["App"], ConfigurationProfileId=out["Profile"])
    assert profile["Name"] == "feature-flags"
    version = aws.appconfig.get_hosted_configuration_version(
        ApplicationId=out["App"], ConfigurationProfileId=out["Profile"], VersionNumber=int(out["Version"])
    )
    assert json.loads(version["Content"].read()) == {"new-checkout": {"enabled": True}}
    assert out["DeploymentNumber"] == "1"

    store = appconfig_store.store(ACCOUNT, REGION)
    assert store.get_environment(out["App"], "prod").id == out["Env"]
    assert store.get_deployment_strategy(out["Strategy"]).name == "quick"
    live = appconfig_store.deployed_configuration(ACCOUNT, REGION, "marquee", "prod", "feature-flags")
    assert live is not None
    assert json.loads(live.content) == {"new-checkout": {"enabled": True}}


def test_appconfig_new_version_becomes_live_and_delete_clears_everything(aws: Aws) -> None:
    """AWS: a new hosted version deployed to the same environment replaces the live configuration; deleting the stack
    deletes the application, its environment and its deployments."""
    aws.deploy("flags", appconfig_template({"new-checkout": {"enabled": False}}))
    out = aws.update("flags", appconfig_template({"new-checkout": {"enabled": True}}, version_id="Version2"))

    live = appconfig_store.deployed_configuration(ACCOUNT, REGION, out["App"], out["Env"], out["Profile"])
    assert live is not None and json.loads(live.content) == {"new-checkout": {"enabled": True}}

    aws.cloudformation.delete_stack(StackName="flags")
    with pytest.raises(ClientError):
        aws.appconfig.get_application(ApplicationId=out["App"])
    assert appconfig_store.store(ACCOUNT, REGION).list_environments(out["App"]) == []


# --- strictness ---------------------------------------------------------------------------------------------------


def strict_template() -> dict[str, Any]:
    return {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "should-not-exist"}},
            "Mystery": {"Type": "AWS::Foo::Bar", "Properties": {}},
            "Seeder": {"Type": "Custom::SeedData", "Properties": {"ServiceToken": "arn:aws:lambda:x"}},
            "Legacy": {"Type": "AWS::CloudFormation::CustomResource", "Properties": {"ServiceToken": "arn"}},
        }
    }


def test_create_stack_with_unsupported_types_fails_and_names_them(aws: Aws) -> None:
    """AWS: a template with resource types CloudFormation does not recognise fails CreateStack with a ValidationError
    "Template format error: Unrecognized resource types: [...]" and creates nothing. The local cloud treats types
    neither moto nor the fill-ins support, and custom resources, the same way, instead of moto's silent skip."""
    with pytest.raises(ClientError) as exc:
        aws.cloudformation.create_stack(StackName="strict", TemplateBody=json.dumps(strict_template()))

    assert error_code(exc) == "ValidationError"
    message = error_message(exc)
    assert message.startswith("Template format error: Unrecognized resource types: [")
    for resource_type in ("AWS::Foo::Bar", "Custom::SeedData", "AWS::CloudFormation::CustomResource"):
        assert resource_type in message
    assert "AWS::SQS::Queue" not in message
    assert aws.sqs.list_queues().get("QueueUrls", []) == []
    with pytest.raises(ClientError):
        aws.cloudformation.describe_stacks(StackName="strict")


def test_change_set_and_update_with_unsupported_types_fail(aws: Aws) -> None:
    """AWS: CreateChangeSet (what `cdk deploy` uses) and UpdateStack validate the template the same way, for a new
    stack and for an existing one."""
    with pytest.raises(ClientError) as exc:
        aws.cloudformation.create_change_set(
            StackName="strict", ChangeSetName="cs", ChangeSetType="CREATE", TemplateBody=json.dumps(strict_template())
        )
    assert "AWS::Foo::Bar" in error_message(exc)
    assert aws.cloudformation.list_stacks()["StackSummaries"] == []

    aws.deploy("strict", {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
    with pytest.raises(ClientError) as exc:
        aws.cloudformation.update_stack(StackName="strict", TemplateBody=json.dumps(strict_template()))
    assert "Custom::SeedData" in error_message(exc)
    with pytest.raises(ClientError) as exc:
        aws.cloudformation.create_change_set(
            StackName="strict", ChangeSetName="cs2", ChangeSetType="UPDATE", TemplateBody=json.dumps(strict_template())
        )
    assert "AWS::Foo::Bar" in error_message(exc)


def test_change_set_create_and_execute_builds_filled_in_resources(aws: Aws) -> None:
    """AWS: CreateChangeSet(CREATE) + ExecuteChangeSet creates the stack's resources, as CreateStack does. This is
    the path `cdk deploy` takes."""
    template = user_pool_template()
    cf = aws.cloudformation
    cf.create_change_set(
        StackName="cdk",
        ChangeSetName="cdk-deploy-change-set",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
    )
    cf.execute_change_set(ChangeSetName="cdk-deploy-change-set", StackName="cdk")

    out = aws.outputs("cdk")
    assert aws.cognito_idp.describe_user_pool(UserPoolId=out["PoolId"])["UserPool"]["Name"] == "marquee-users"


def test_change_set_stacks_publish_outputs_and_exports_for_import_value(aws: Aws) -> None:
    """AWS: a stack created or updated through a change set has its template's Outputs, and its Exports can be read by
    another stack with Fn::ImportValue (how CDK passes values between stacks)."""

    def exporting(description: str) -> dict[str, Any]:
        return {
            "Resources": {
                "Db": {
                    "Type": "AWS::SecretsManager::Secret",
                    "Properties": {"SecretString": "x", "Description": description},
                }
            },
            "Outputs": {"DbArn": {"Value": ref("Db"), "Export": {"Name": "marquee-db-arn"}}},
        }

    cf = aws.cloudformation
    cf.create_change_set(
        StackName="shared", ChangeSetName="c1", ChangeSetType="CREATE", TemplateBody=json.dumps(exporting("one"))
    )
    cf.execute_change_set(ChangeSetName="c1", StackName="shared")
    arn = aws.outputs("shared")["DbArn"]
    assert [e["Value"] for e in cf.list_exports()["Exports"]] == [arn]

    cf.create_change_set(
        StackName="shared", ChangeSetName="c2", ChangeSetType="UPDATE", TemplateBody=json.dumps(exporting("two"))
    )
    cf.execute_change_set(ChangeSetName="c2", StackName="shared")
    assert aws.outputs("shared")["DbArn"] == arn

    importing = {
        "Resources": {
            "Copy": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": "/marquee/db-arn",
                    "Type": "String",
                    "Value": {"Fn::ImportValue": "marquee-db-arn"},
                },
            }
        },
    }
    aws.deploy("consumer", importing)
    assert aws.ssm.get_parameter(Name="/marquee/db-arn")["Parameter"]["Value"] == arn


def test_moto_native_types_cdk_relies_on_still_deploy_under_strictness(aws: Aws) -> None:
    """AWS::IAM::Role/Policy, AWS::Lambda::Function/Permission, AWS::Logs::LogGroup are moto's own models: a strict
    deploy accepts them and they exist afterwards. AWS::CDK::Metadata is accepted and creates nothing."""
    template = {
        "Resources": {
            **rotation_function(),
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "logs",
                    "Roles": [ref("RotationRole")],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}],
                    },
                },
            },
            "Invoke": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": ref("Rotator"),
                    "Action": "lambda:InvokeFunction",
                    "Principal": "apigateway.amazonaws.com",
                },
            },
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": "/marquee/orders", "RetentionInDays": 7},
            },
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:H4sI"}},
        },
        "Outputs": outputs_for(Function=ref("Rotator"), Role=ref("RotationRole")),
    }
    out = aws.deploy("native", template)

    policy = json.loads(aws.lambda_.get_policy(FunctionName=out["Function"])["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert aws.iam.get_role_policy(RoleName=out["Role"], PolicyName="logs")["PolicyName"] == "logs"
    groups = aws.logs.describe_log_groups(logGroupNamePrefix="/marquee/orders")["logGroups"]
    assert [g["retentionInDays"] for g in groups] == [7]
    resources = aws.cloudformation.describe_stack_resources(StackName="native")["StackResources"]
    assert "AWS::CDK::Metadata" in {r["ResourceType"] for r in resources}


def test_install_is_idempotent_and_wins_over_a_rebuilt_map(aws: Aws) -> None:
    """install() may run again (every `cloud up`, every test) without wrapping twice, and re-registers the fill-ins
    even if moto rebuilt its cached model map from __subclasses__, which does not see them."""
    from moto.cloudformation.models import CloudFormationBackend

    create_stack = CloudFormationBackend.create_stack
    install()
    assert CloudFormationBackend.create_stack is create_stack

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    assert "AWS::Cognito::UserPool" not in parsing.get_model_map()
    install()
    assert "AWS::Cognito::UserPool" in parsing.get_model_map()
    assert parsing.get_model_map()["AWS::ApiGateway::Method"].__module__ == "localcloud.cloudformation.fillins.apigateway"
    out = aws.deploy("identity", user_pool_template())
    assert out["PoolId"].startswith(f"{REGION}_")


# --- the CDK bootstrap stack --------------------------------------------------------------------------------------


def test_cdk_bootstrap_template_deploys_with_its_defaults(aws: Aws) -> None:
    """The template `cdk bootstrap --show-template` prints (committed as a fixture) deploys with its default
    parameters under strictness: staging bucket with its bucket policy, ECR repository, roles, SSM version
    parameter. `cdk deploy` refuses to run against an environment without it."""
    template = (FIXTURES / "bootstrap-template.yaml").read_text()
    aws.cloudformation.create_stack(
        StackName="CDKToolkit", TemplateBody=template, Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
    )
    out = aws.outputs("CDKToolkit")

    bucket = out["BucketName"]
    assert bucket == f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
    policy = json.loads(aws.s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert any(
        s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" for s in policy["Statement"]
    )
    version = aws.ssm.get_parameter(Name="/cdk-bootstrap/hnb659fds/version")["Parameter"]["Value"]
    assert version == out["BootstrapVersion"]
    assert aws.iam.get_role(RoleName=f"cdk-hnb659fds-deploy-role-{ACCOUNT}-{REGION}")["Role"]
    resources = aws.cloudformation.describe_stack_resources(StackName="CDKToolkit")["StackResources"]
    # moto lists a resource whose Condition is false as an empty entry, hence .get().
    assert "AWS::S3::BucketPolicy" in {r.get("ResourceType") for r in resources}


def test_a_second_change_set_deploy_of_a_stack_works_as_the_cdk_cli_drives_it(aws: Aws) -> None:
    """`cdk deploy` of a stack that exists: delete the previous change set (a success when there is none), wait for
    ChangeSetNotFound, create
    an UPDATE change set, execute it. AWS removes a stack's change sets once one is executed
    (docs: "After you execute a change set, CloudFormation removes all change sets associated with the stack"), and
    answers ChangeSetNotFound (404) for one that does not exist."""
    cfn = aws.cloudformation
    name = "cdk-deploy-change-set"
    queue = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {}}}
    for version, change_type in ((1, "CREATE"), (2, "UPDATE")):
        template = {"Resources": queue, "Outputs": outputs_for(Version=str(version))}
        with pytest.raises(ClientError) as missing:
            cfn.describe_change_set(StackName="app", ChangeSetName=name)
        assert error_code(missing) == "ChangeSetNotFound"
        assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert isinstance(missing.value, cfn.exceptions.ChangeSetNotFoundException)
        cfn.create_change_set(
            StackName="app", ChangeSetName=name, ChangeSetType=change_type, TemplateBody=json.dumps(template)
        )
        assert cfn.describe_change_set(StackName="app", ChangeSetName=name)["ChangeSetName"] == name
        cfn.execute_change_set(StackName="app", ChangeSetName=name)
        assert cfn.list_change_sets(StackName="app")["Summaries"] == []
        assert aws.outputs("app") == {"Version": str(version)}
    # deleting one that is not there is a success, as the CLI expects before each deploy
    cfn.delete_change_set(StackName="app", ChangeSetName=name)
