"""Integration tests: the real handlers, called in-process, against moto (``mock_aws``) resources made with boto3."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from marquee.core import aws
from tools.api_functions import forget_package

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "events"
REGION = "us-east-1"


def pytest_configure(config: pytest.Config) -> None:
    # Routes that publish no metric make Powertools warn on every flush; that is expected, not a problem.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "marquee-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:marquee-test"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def load_function(name: str, module: str = "handler") -> ModuleType:
    """Import ``functions.<name>.<module>`` (as its Lambda handler setting names it) as a fresh cold start: the
    package's modules are dropped first, and its env model is validated now."""
    forget_package(f"functions.{name}")
    return importlib.import_module(f"functions.{name}.{module}")


def load_event(relative: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / relative).read_text())


@dataclass(frozen=True)
class Invocation:
    status: int
    content_type: str
    headers: dict[str, list[str]]
    body: dict[str, Any]


def invoke(module: ModuleType, event: dict[str, Any]) -> Invocation:
    result = module.handler(event, LambdaContext())
    headers = result.get("multiValueHeaders") or {}
    return Invocation(
        status=result["statusCode"],
        content_type=headers.get("Content-Type", [""])[0],
        headers=headers,
        body=json.loads(result["body"]) if result["body"] else {},  # {} for a 204
    )


NO_CACHE_ENV = {"CACHE_ADDRESS": "127.0.0.1", "CACHE_PORT": "1", "CACHE_TLS": "false", "CACHE_CLUSTER": "false"}


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, a fixed region, no endpoint override, Powertools quiet; fresh clients for every test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "MarqueeTest")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    # The hold item's shape phase the stack deploys (infra/constants.py); a test of another phase sets its own.
    monkeypatch.setenv("HOLD_SHAPE_PHASE", "migrate")
    # The rate-limited functions' cache: no Valkey here, so the limiter fails open to its per-instance limit
    # (tests/integration/test_ratelimit.py has a real Valkey); a test with a cache sets its own.
    for name, value in NO_CACHE_ENV.items():
        monkeypatch.setenv(name, value)
    aws.clear_clients()
    yield
    aws.clear_clients()
    from marquee.booking import hold_shape

    hold_shape.use_phase(hold_shape.DEFAULT_PHASE)  # a function loaded in another phase set it for the process


@dataclass(frozen=True)
class Platform:
    table_name: str
    queue_url: str
    dlq_url: str
    event_bus_name: str
    secret_arn: str
    state_machine_arn: str

    def health_env(self) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": "health",
            "TABLE_NAME": self.table_name,
            "QUEUE_URL": self.queue_url,
            "EVENT_BUS_NAME": self.event_bus_name,
            "SECRET_ARN": self.secret_arn,
            "STATE_MACHINE_ARN": self.state_machine_arn,
            # Generous: moto answers in milliseconds, and a loaded CI machine must not turn "pass" into "warn".
            "HEALTH_CHECK_TIMEOUT_MS": "5000",
            "HEALTH_CHECK_WARN_MS": "4000",
            "DB_HEALTH_CHECK_TIMEOUT_MS": "5000",
            # moto's rds-data answers any statement with canned records; tests/e2e probes the real cluster.
            "DB_CLUSTER_ARN": "arn:aws:rds:us-east-1:123456789012:cluster:marquee",
            "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:marquee-db",
            "DB_NAME": "marquee",
        }


@pytest.fixture
def platform() -> Iterator[Platform]:
    """The platform construct's resources, created in moto the way the stack declares them."""
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName="marquee-table",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(QueueName="marquee-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="marquee-work",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})},
        )["QueueUrl"]
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name="marquee-bus")
        secrets = boto3.client("secretsmanager", region_name=REGION)
        secret_arn = secrets.create_secret(Name="marquee-provider", SecretString='{"apiKey": "sk_test"}')["ARN"]
        iam = boto3.client("iam", region_name=REGION)
        role_arn = iam.create_role(
            RoleName="marquee-sfn",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        sfn = boto3.client("stepfunctions", region_name=REGION)
        state_machine_arn = sfn.create_state_machine(
            name="marquee-health-probe",
            definition=(ROOT / "statemachines" / "health_probe.asl.json").read_text(),
            roleArn=role_arn,
        )["stateMachineArn"]
        yield Platform(
            table_name="marquee-table",
            queue_url=queue_url,
            dlq_url=dlq_url,
            event_bus_name="marquee-bus",
            secret_arn=secret_arn,
            state_machine_arn=state_machine_arn,
        )


@pytest.fixture
def health_function(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    for key, value in platform.health_env().items():
        monkeypatch.setenv(key, value)
    return load_function("health")


@pytest.fixture
def me_function(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "me")
    return load_function("me")


TENANT_ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
    ],
}


def use_tenant_role(table_name: str, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    """What TenantAccess.grant_to gives a tenant-facing function: the table and the role it assumes per tenant.

    moto returns credentials for the role but evaluates no policy (docs/patterns/19-tenant-isolation.md)."""
    from marquee.tenancy import tenant_session

    iam = boto3.client("iam", region_name=REGION)
    try:
        role_arn = iam.get_role(RoleName="tenant-access")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role_arn = iam.create_role(RoleName="tenant-access", AssumeRolePolicyDocument=json.dumps(TENANT_ROLE_TRUST))[
            "Role"
        ]["Arn"]
    table_arn = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=table_name)["Table"]["TableArn"]
    tenant_session.clear_sessions()
    setenv = monkeypatch.setenv if monkeypatch is not None else os.environ.__setitem__  # the bench has no monkeypatch
    setenv("TABLE_NAME", table_name)
    setenv("TABLE_ARN", table_arn)
    setenv("TENANT_ROLE_ARN", role_arn)


class _MainTableRefused:
    """A DynamoDB client that refuses any call naming ``table`` and passes every other call through."""

    def __init__(self, client: Any, table: str) -> None:
        self._client, self._table = client, table

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if f'"{self._table}"' in json.dumps([args, kwargs], default=str):
                raise AssertionError(f"a tenant-facing function used its own role on {self._table} ({name})")
            return attribute(*args, **kwargs)

        return guarded


@contextmanager
def only_tenant_sessions(monkeypatch: pytest.MonkeyPatch, table: str) -> Iterator[list[str]]:
    """Within the block the function's own DynamoDB client refuses every call on the main ``table`` (other tables, such
    as idempotency records and breakers, stay on its own role), so the main table must be reached through
    ``marquee.tenancy.tenant_session`` (the tenant-access role). Yields the tenants whose sessions were asked for, in order."""
    from marquee.tenancy import tenant_session

    opened: list[str] = []
    real_session, real_client = tenant_session.tenant_dynamodb, aws.dynamodb

    def spy(tenant: Any, **kwargs: Any) -> Any:
        opened.append(tenant.tenant_id)
        return real_session(tenant, **kwargs)

    with monkeypatch.context() as scoped:
        scoped.setattr(tenant_session, "tenant_dynamodb", spy)
        scoped.setattr(aws, "dynamodb", lambda: _MainTableRefused(real_client(), table))
        yield opened


def imports_function(monkeypatch: pytest.MonkeyPatch, *, bucket: str, validator: str) -> ModuleType:
    """The imports API function with the variables the stack gives it (its bucket made first by the caller)."""
    for name, value in {
        "POWERTOOLS_SERVICE_NAME": "imports",
        "IMPORTS_BUCKET": bucket,
        "PART_SIZE_BYTES": str(16 * 1024 * 1024),
        "URL_EXPIRY_SECONDS": "3600",
        "ABORT_INCOMPLETE_UPLOAD_DAYS": "7",
        "VALIDATOR_FUNCTION_NAME": validator,
    }.items():
        monkeypatch.setenv(name, value)
    return load_function("imports")
