"""A regional cell on one local cloud, built with plain boto3 in any region, and the Route 53 failover in front of two.

A cell: a global table (replicated to the other cells' regions), one Python function and a REST API (stage ``v1``):
``GET /health``, ``PUT /items/{id}`` (writes the item, ``region`` attribute = the cell's region) and
``GET /items/{id}``. The failover: a hosted zone, an HTTP health check per cell against its API's host form
(``{apiId}.execute-api.localhost:{port}/v1/health``) and a PRIMARY/SECONDARY pair of CNAME records ``api.{zone}``.
Used by the parity tests (tests/localcloud/test_route53_failover.py) and the drill (bench/failover.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from localcloud.aws import local_client
from tests.localcloud.apigw_helpers import RestApi
from tests.localcloud.conftest import ROLE, ensure_role, zip_code

STAGE = "v1"
HANDLER = """
import json, os, time
import boto3

_table = None

def table():
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    return _table

def handler(event, context):
    region = os.environ["AWS_REGION"]
    if event["resource"] == "/health":
        return {"statusCode": 200, "body": json.dumps({"status": "ok", "region": region})}
    item_id = event["pathParameters"]["id"]
    if event["httpMethod"] == "PUT":
        table().put_item(Item={"pk": item_id, "region": region, "at": str(time.time())})
        return {"statusCode": 201, "body": json.dumps({"id": item_id, "region": region})}
    item = table().get_item(Key={"pk": item_id}).get("Item")
    if item is None:
        return {"statusCode": 404, "body": json.dumps({"id": item_id, "region": region})}
    return {"statusCode": 200, "body": json.dumps({**item, "servedBy": region})}
"""


@dataclass
class Cell:
    region: str
    api_id: str
    function_name: str

    def host(self) -> str:
        return f"{self.api_id}.execute-api.localhost"


def regional(endpoint: str, region: str) -> Any:
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = local_client(service, endpoint, region=region)
        return clients[service]

    return client


def global_table(endpoint: str, primary: str, others: list[str]) -> str:
    ddb = local_client("dynamodb", endpoint, region=primary)
    name = f"cells-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": r}} for r in others])
    return name


def cell(endpoint: str, region: str, table: str) -> Cell:
    aws = regional(endpoint, region)
    ensure_role(aws)
    name = f"cell-{region}-{uuid.uuid4().hex[:6]}"
    created = aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_code({"app.py": HANDLER})},
        Timeout=10,
        Environment={"Variables": {"TABLE_NAME": table}},
    )
    api = RestApi(aws)
    api.route("GET", "/health", created["FunctionArn"])
    api.route("PUT", "/items/{id}", created["FunctionArn"])
    api.route("GET", "/items/{id}", created["FunctionArn"])
    api.deploy(STAGE)
    return Cell(region, api.api_id, name)


@dataclass
class Failover:
    zone_name: str
    zone_id: str
    record: str
    checks: dict[str, str]  # region -> health check id


def failover(
    endpoint: str,
    port: int,
    primary: Cell,
    secondary: Cell,
    *,
    interval: int = 10,
    threshold: int = 3,
    health_path: str = "health",
) -> Failover:
    """A PRIMARY/SECONDARY failover pair, each record behind an HTTP health check of ``/{stage}/{health_path}``."""
    route53 = local_client("route53", endpoint)
    zone_name = f"marquee-{uuid.uuid4().hex[:6]}.example"
    zone_id = route53.create_hosted_zone(Name=zone_name, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    checks: dict[str, str] = {}
    changes = []
    for role, target in (("PRIMARY", primary), ("SECONDARY", secondary)):
        check = route53.create_health_check(
            CallerReference=uuid.uuid4().hex,
            HealthCheckConfig={
                "Type": "HTTP",
                "FullyQualifiedDomainName": target.host(),
                "Port": port,
                "ResourcePath": f"/{STAGE}/{health_path}",
                "RequestInterval": interval,
                "FailureThreshold": threshold,
            },
        )["HealthCheck"]
        checks[target.region] = check["Id"]
        changes.append(
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": f"api.{zone_name}",
                    "Type": "CNAME",
                    "SetIdentifier": target.region,
                    "Failover": role,
                    "TTL": 60,
                    "HealthCheckId": check["Id"],
                    "ResourceRecords": [{"Value": target.host()}],
                },
            }
        )
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return Failover(zone_name, zone_id, f"api.{zone_name}", checks)
