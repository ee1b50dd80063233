"""Zero-downtime deploys on the deployed stack (design question 2): the seat-hold routes go through the ``live`` alias,
and its CodeDeploy group shifts a new version in under steady API traffic with no failed request, and stops and rolls
back a broken one on its error alarm, its failures only on the canary. A configuration minute lasts one second here
(the cloud's ``/_localcloud/codedeploy/minute``), so each drill takes a few seconds. The drills are devkit.canary's,
which the tour runs too."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from devkit.canary import BROKEN_DRILL_LOOPS, BROKEN_DRILL_MINUTE_S, ApiTraffic, HoldsDeployment, fast_minutes
from tests.e2e.booking_helpers import token


@pytest.fixture(scope="module")
def holds(deployed: dict[str, Any]) -> Iterator[HoldsDeployment]:
    with fast_minutes(deployed["endpoint"]):
        yield HoldsDeployment.find(deployed["endpoint"])


def test_a_new_holds_version_ships_under_traffic_with_no_failed_request(
    api: str, deployed: dict[str, Any], holds: HoldsDeployment
) -> None:
    with ApiTraffic(f"{api}/holds/hold_unknown", token(deployed, "canary", "steady")) as traffic:
        time.sleep(1.0)
        info, _, target = holds.publish_and_deploy(Description="drill: same code, a new version")
        time.sleep(0.5)
    assert info["status"] == "Succeeded", info
    assert holds.live_version() == target
    # 404 from either version; 429 when the holds route's own throttle refuses the loop (not a failure)
    assert traffic.failed == 0 and set(traffic.statuses) <= {404, 429} and traffic.statuses[404], traffic.statuses


def test_a_broken_holds_version_is_rolled_back_on_its_alarm(
    api: str, deployed: dict[str, Any], holds: HoldsDeployment
) -> None:
    # a longer canary window and more traffic: the canary is drawn per request (10 %), and a busy machine sent too few
    # requests in a 1 s window for one to reach it (the deployment then succeeded and left the routes broken)
    with (
        fast_minutes(deployed["endpoint"], seconds=BROKEN_DRILL_MINUTE_S),
        ApiTraffic(f"{api}/holds/hold_unknown", token(deployed, "canary", "steady"), BROKEN_DRILL_LOOPS) as traffic,
    ):
        time.sleep(1.0)
        info, good = holds.broken_deploy()
        time.sleep(0.5)
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "ALARM_ACTIVE", info
    assert holds.live_version() == good
    assert 0 < traffic.failed <= max(5, traffic.total * 0.1), traffic.statuses  # the canary's share at most
    print(f"broken holds version: {traffic.failed} failed of {traffic.total} requests ({traffic.statuses})")
