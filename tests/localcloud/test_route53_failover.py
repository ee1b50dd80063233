"""Parity: Route 53 health checks evaluated for real, and failover records followed by the cloud's global front door.

AWS references: "How Amazon Route 53 determines whether a health check is healthy" (interval, failure threshold,
2xx/3xx), "Active-passive failover" (the secondary answers while the primary's health check is unhealthy; with both
unhealthy, the primary) and GetHealthCheckStatus. The interval is scaled down here (time_scale); the drill
(bench/failover.py) runs it at AWS's 10 s. localcloud/route53/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from localcloud.aws import local_client
from localcloud.route53.health import HealthChecker
from localcloud.server import LocalCloud
from tests.localcloud.failover_helpers import Failover, cell, failover, global_table

PRIMARY, SECONDARY = "us-east-1", "eu-west-1"
SCALE = 0.02  # RequestInterval 10 s -> 0.2 s


@pytest.fixture(scope="module")
def pair(cloud: LocalCloud, endpoint: str) -> Iterator[Failover]:
    checker = cloud.component(HealthChecker)
    before, checker.time_scale = checker.time_scale, SCALE
    table = global_table(endpoint, PRIMARY, [SECONDARY])
    primary, secondary = cell(endpoint, PRIMARY, table), cell(endpoint, SECONDARY, table)
    yield failover(endpoint, cloud.settings.port, primary, secondary, interval=10, threshold=2)
    checker.time_scale = before
    for region in (PRIMARY, SECONDARY):
        requests.post(f"{endpoint}/_localcloud/chaos/region/{region}?state=up", timeout=5)


def via_global_name(cloud: LocalCloud, pair: Failover, path: str, method: str = "GET") -> requests.Response:
    return requests.request(
        method,
        f"http://127.0.0.1:{cloud.settings.port}/v1{path}",
        headers={"Host": f"{pair.record}:{cloud.settings.port}"},
        timeout=10,
    )


def status(endpoint: str, check_id: str) -> str:
    observations = local_client("route53", endpoint).get_health_check_status(HealthCheckId=check_id)
    report: str = observations["HealthCheckObservations"][0]["StatusReport"]["Status"]
    return report


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def region_state(endpoint: str, region: str, state: str) -> None:
    requests.post(f"{endpoint}/_localcloud/chaos/region/{region}?state={state}", timeout=5).raise_for_status()


def test_health_check_status_reports_the_real_http_result(endpoint: str, pair: Failover) -> None:
    wait_for(lambda: status(endpoint, pair.checks[PRIMARY]).startswith("Success: HTTP Status Code 200"))


def test_the_global_name_serves_the_primary_while_it_is_healthy(cloud: LocalCloud, pair: Failover) -> None:
    response = via_global_name(cloud, pair, "/health")
    assert response.status_code == 200
    assert response.json()["region"] == PRIMARY
    assert response.headers["X-Localcloud-Resolved-To"].startswith(PRIMARY)


def test_a_failed_primary_turns_unhealthy_after_the_threshold_and_traffic_moves_to_the_secondary(
    cloud: LocalCloud, endpoint: str, pair: Failover
) -> None:
    wait_for(lambda: status(endpoint, pair.checks[PRIMARY]).startswith("Success"))
    region_state(endpoint, PRIMARY, "down")

    def answer() -> dict[str, Any]:
        return dict(
            requests.get(f"{endpoint}/_localcloud/dns", params={"name": pair.record}, timeout=5).json()["answer"]
        )

    wait_for(lambda: answer()["failover"] == "SECONDARY")
    # "Failure: HTTP Status Code 503, Service Unavailable" (or a timeout when the machine is loaded: 2 s, as AWS). A
    # probe sent just before the fault may land after the transition with its success: the next one reports it.
    wait_for(lambda: status(endpoint, pair.checks[PRIMARY]).startswith("Failure: "))
    # FailureThreshold 2: the transition follows two failed probes (the drill measures how long that takes)
    assert len([t for t in cloud.component(HealthChecker).state(pair.checks[PRIMARY]).transitions if not t[1]]) >= 1
    response = via_global_name(cloud, pair, "/health")
    assert response.status_code == 200 and response.json()["region"] == SECONDARY

    region_state(endpoint, PRIMARY, "up")  # failing back: healthy again after two successes
    wait_for(lambda: via_global_name(cloud, pair, "/health").json().get("region") == PRIMARY)


def test_with_both_regions_unhealthy_route53_answers_the_primary(
    cloud: LocalCloud, endpoint: str, pair: Failover
) -> None:
    region_state(endpoint, PRIMARY, "down")
    region_state(endpoint, SECONDARY, "down")
    checker = cloud.component(HealthChecker)
    wait_for(lambda: not checker.is_healthy(pair.checks[PRIMARY]) and not checker.is_healthy(pair.checks[SECONDARY]))
    answer = requests.get(f"{endpoint}/_localcloud/dns", params={"name": pair.record}, timeout=5).json()["answer"]
    assert answer["failover"] == "PRIMARY"
    assert via_global_name(cloud, pair, "/health").status_code == 503  # the outage itself answers
    region_state(endpoint, PRIMARY, "up")
    region_state(endpoint, SECONDARY, "up")
    wait_for(lambda: checker.is_healthy(pair.checks[PRIMARY]))


def test_a_write_through_the_global_name_is_readable_in_the_other_region_after_replication(
    cloud: LocalCloud, pair: Failover
) -> None:
    assert via_global_name(cloud, pair, "/items/film-1", "PUT").json()["region"] == PRIMARY
    wait_for(lambda: _read_in(cloud, pair, SECONDARY, "film-1") == 200, timeout=5)


def _read_in(cloud: LocalCloud, pair: Failover, region: str, item: str) -> int:
    records = local_client("route53", cloud.settings.endpoint_url).list_resource_record_sets(HostedZoneId=pair.zone_id)
    host = next(
        r["ResourceRecords"][0]["Value"] for r in records["ResourceRecordSets"] if r.get("SetIdentifier") == region
    )
    api_id = host.split(".", 1)[0]
    url = f"{cloud.settings.endpoint_url}/_aws/execute-api/{api_id}/v1/items/{item}"
    return requests.get(url, timeout=10).status_code
