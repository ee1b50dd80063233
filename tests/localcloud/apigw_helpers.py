"""Builders for the front-door parity tests: a REST API, a Cognito user pool and forged tokens, all with plain boto3."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jwt

from tests.localcloud.conftest import ROLE, ensure_role, zip_code

AwsClient = Callable[[str], Any]
REGION = "us-east-1"


def deploy_function(aws: AwsClient, source: str, **config: Any) -> str:
    """Create a Python function (module `app`, function `handler`) and return its ARN (usable in module fixtures)."""
    name = f"apigw-{uuid.uuid4().hex[:10]}"
    ensure_role(aws)
    created = aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_code({"app.py": source})},
        Timeout=5,
        **config,
    )
    return str(created["FunctionArn"])


def lambda_uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


@dataclass
class RestApi:
    """A REST API built resource by resource, as CloudFormation or the console would."""

    aws: AwsClient
    binary_media_types: list[str] = field(default_factory=list)
    name: str = field(default_factory=lambda: f"api-{uuid.uuid4().hex[:8]}")
    api_id: str = ""
    resource_ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        client = self.aws("apigateway")
        self.api_id = client.create_rest_api(name=self.name, binaryMediaTypes=self.binary_media_types)["id"]
        if self.binary_media_types and not client.get_rest_api(restApiId=self.api_id).get("binaryMediaTypes"):
            # moto (5.x) drops binaryMediaTypes on create; set them by patch. AWS puts the type in the path
            # (`/` escaped as `~1`); moto reads the value, so send both.
            ops = [
                {"op": "add", "path": f"/binaryMediaTypes/{t.replace('/', '~1')}", "value": t}
                for t in self.binary_media_types
            ]
            client.update_rest_api(restApiId=self.api_id, patchOperations=ops)
        root = next(r for r in client.get_resources(restApiId=self.api_id)["items"] if r["path"] == "/")
        self.resource_ids["/"] = root["id"]

    def resource(self, path: str) -> str:
        """The id of the resource at `path`, creating it and its parents as needed."""
        if path in self.resource_ids:
            return self.resource_ids[path]
        parent, _, part = path.rpartition("/")
        parent_id = self.resource(parent or "/")
        created = self.aws("apigateway").create_resource(restApiId=self.api_id, parentId=parent_id, pathPart=part)
        self.resource_ids[path] = created["id"]
        return str(created["id"])

    def route(
        self,
        http_method: str,
        path: str,
        function_arn: str,
        *,
        authorizer_id: str | None = None,
        scopes: list[str] | None = None,
    ) -> None:
        """A method with a Lambda proxy (AWS_PROXY) integration; a Cognito authorizer when `authorizer_id` is given."""
        client = self.aws("apigateway")
        resource_id = self.resource(path)
        auth: dict[str, Any] = {"authorizationType": "NONE"}
        if authorizer_id is not None:
            auth = {"authorizationType": "COGNITO_USER_POOLS", "authorizerId": authorizer_id}
            if scopes:
                auth["authorizationScopes"] = scopes
        client.put_method(restApiId=self.api_id, resourceId=resource_id, httpMethod=http_method, **auth)
        client.put_integration(
            restApiId=self.api_id,
            resourceId=resource_id,
            httpMethod=http_method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri(function_arn),
        )

    def cognito_authorizer(self, pool_arns: list[str]) -> str:
        created = self.aws("apigateway").create_authorizer(
            restApiId=self.api_id,
            name="cognito",
            type="COGNITO_USER_POOLS",
            providerARNs=pool_arns,
            identitySource="method.request.header.Authorization",
        )
        return str(created["id"])

    def deploy(self, stage: str) -> None:
        self.aws("apigateway").create_deployment(restApiId=self.api_id, stageName=stage)


def execute_api_url(endpoint: str, api_id: str, stage: str, path: str) -> str:
    """LocalStack's primary shape: {endpoint}/_aws/execute-api/{apiId}/{stage}/{path}."""
    return f"{endpoint}/_aws/execute-api/{api_id}/{stage}/{path.lstrip('/')}"


def user_request_url(endpoint: str, api_id: str, stage: str, path: str) -> str:
    """LocalStack's legacy shape: {endpoint}/restapis/{apiId}/{stage}/_user_request_/{path}."""
    return f"{endpoint}/restapis/{api_id}/{stage}/_user_request_/{path.lstrip('/')}"


@dataclass
class UserPool:
    """A Cognito user pool with a custom `tenant_id` attribute and an app client allowing ADMIN_USER_PASSWORD_AUTH."""

    aws: AwsClient
    pool_id: str = ""
    arn: str = ""
    client_id: str = ""

    def __post_init__(self) -> None:
        idp = self.aws("cognito-idp")
        pool = idp.create_user_pool(PoolName=f"pool-{uuid.uuid4().hex[:8]}")["UserPool"]
        self.pool_id, self.arn = pool["Id"], pool["Arn"]
        idp.add_custom_attributes(
            UserPoolId=self.pool_id,
            CustomAttributes=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": True}],
        )
        client = idp.create_user_pool_client(
            UserPoolId=self.pool_id, ClientName="web", ExplicitAuthFlows=["ADMIN_USER_PASSWORD_AUTH"]
        )
        self.client_id = client["UserPoolClient"]["ClientId"]

    def sign_in(self, username: str, *, tenant_id: str, groups: tuple[str, ...] = ()) -> dict[str, str]:
        """Create a confirmed user (in `groups`) and return its AuthenticationResult (IdToken, AccessToken...)."""
        idp = self.aws("cognito-idp")
        password = "Sup3r-secret!"  # noqa: S105 - a throwaway user in the local cloud
        idp.admin_create_user(
            UserPoolId=self.pool_id,
            Username=username,
            UserAttributes=[{"Name": "custom:tenant_id", "Value": tenant_id}],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True)
        existing = {g["GroupName"] for g in idp.list_groups(UserPoolId=self.pool_id)["Groups"]}
        for group in groups:
            if group not in existing:
                idp.create_group(UserPoolId=self.pool_id, GroupName=group)
            idp.admin_add_user_to_group(UserPoolId=self.pool_id, Username=username, GroupName=group)
        result = idp.admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        return dict(result["AuthenticationResult"])


def moto_signing_key() -> tuple[jwt.PyJWK, str]:
    """moto signs every Cognito token with one fixed key pair; its private half (and kid) lets a test forge tokens."""
    data = resources.files("moto.cognitoidp").joinpath("resources/jwks-private.json.gz").read_bytes()
    key = json.loads(gzip.decompress(data))
    key = key["keys"][0] if "keys" in key else key
    return jwt.PyJWK.from_dict(key), str(key["kid"])


def forge_token(claims: dict[str, Any], **overrides: Any) -> str:
    """Re-sign `claims` (plus overrides) with moto's Cognito key: the signature is valid, the content is ours."""
    key, kid = moto_signing_key()
    return jwt.encode({**claims, **overrides}, key.key, algorithm="RS256", headers={"kid": kid})


def unverified_claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def an_hour_ago() -> int:
    return int(time.time()) - 3600
