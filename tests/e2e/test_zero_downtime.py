"""Zero-downtime deploys on the deployed stack (design question 2): the seat-hold routes go through the ``live`` alias,
and its CodeDeploy group shifts a new version in under steady API traffic with no failed request, and stops and rolls
back a broken one on its error alarm, its failures only on the canary. A configuration minute lasts one second here
(the cloud's ``/_localcloud/codedeploy/minute``), so each drill takes a few seconds."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.e2e.booking_helpers import token


@pytest.fixture(scope="module")
def holds(deployed: dict[str, Any], sdk: Any) -> Iterator[dict[str, str]]:
    resources = sdk("cloudformation").describe_stack_resources(StackName="Marquee")["StackResources"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(resource["ResourceType"], []).append(resource)
    [alias] = [r for r in by_type["AWS::Lambda::Alias"] if r["LogicalResourceId"].startswith("SeatHoldsLive")]
    [group] = by_type["AWS::CodeDeploy::DeploymentGroup"]
    [app] = by_type["AWS::CodeDeploy::Application"]
    endpoint = deployed["endpoint"]
    requests.post(f"{endpoint}/_localcloud/codedeploy/minute?seconds=1", timeout=10).raise_for_status()
    yield {
        "function": alias["PhysicalResourceId"].split(":")[6],
        "group": group["PhysicalResourceId"],
        "app": app["PhysicalResourceId"],
    }
    requests.post(f"{endpoint}/_localcloud/codedeploy/minute?seconds=60", timeout=10).raise_for_status()


class ApiTraffic:
    """GET /holds/{unknown} in two loops: each answer is a 404 problem from whichever version ran (or a 429 from the
    route's throttle); a 5xx is a failure."""

    def __init__(self, url: str, auth: str) -> None:
        self.url, self.auth = url, auth
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(2)]

    def __enter__(self) -> ApiTraffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _loop(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            self.statuses[session.get(self.url, headers={"Authorization": self.auth}, timeout=60).status_code] += 1

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def _publish_and_deploy(sdk: Any, holds: dict[str, str], **change: str) -> tuple[dict[str, Any], str, str]:
    lam, codedeploy = sdk("lambda"), sdk("codedeploy")
    current = lam.get_alias(FunctionName=holds["function"], Name="live")["FunctionVersion"]
    lam.update_function_configuration(FunctionName=holds["function"], **change)
    target = lam.publish_version(FunctionName=holds["function"])["Version"]
    properties = {"Name": holds["function"], "Alias": "live", "CurrentVersion": current, "TargetVersion": target}
    appspec = {"version": 0.0, "Resources": [{"holds": {"Type": "AWS::Lambda::Function", "Properties": properties}}]}
    deployment_id = codedeploy.create_deployment(
        applicationName=holds["app"],
        deploymentGroupName=holds["group"],
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
    )["deploymentId"]
    end = time.monotonic() + 60
    while time.monotonic() < end:
        info: dict[str, Any] = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return info, current, target
        time.sleep(0.1)
    raise AssertionError(f"deployment {deployment_id} did not finish")


def test_a_new_holds_version_ships_under_traffic_with_no_failed_request(
    api: str, deployed: dict[str, Any], sdk: Any, holds: dict[str, str]
) -> None:
    with ApiTraffic(f"{api}/holds/hold_unknown", token(deployed, "canary", "steady")) as traffic:
        time.sleep(1.0)
        info, _, target = _publish_and_deploy(sdk, holds, Description="drill: same code, a new version")
        time.sleep(0.5)
    assert info["status"] == "Succeeded", info
    assert sdk("lambda").get_alias(FunctionName=holds["function"], Name="live")["FunctionVersion"] == target
    # 404 from either version; 429 when the holds route's own throttle refuses the loop (not a failure)
    assert traffic.failed == 0 and set(traffic.statuses) <= {404, 429} and traffic.statuses[404], traffic.statuses


def test_a_broken_holds_version_is_rolled_back_on_its_alarm(
    api: str, deployed: dict[str, Any], sdk: Any, holds: dict[str, str]
) -> None:
    lam = sdk("lambda")
    handler = lam.get_function_configuration(FunctionName=holds["function"])["Handler"]
    try:
        with ApiTraffic(f"{api}/holds/hold_unknown", token(deployed, "canary", "steady")) as traffic:
            time.sleep(1.0)
            info, good, _ = _publish_and_deploy(sdk, holds, Handler="functions.holds.handler.missing")
            time.sleep(0.5)
    finally:
        lam.update_function_configuration(FunctionName=holds["function"], Handler=handler)
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "ALARM_ACTIVE", info
    assert lam.get_alias(FunctionName=holds["function"], Name="live")["FunctionVersion"] == good
    total = sum(traffic.statuses.values())
    assert 0 < traffic.failed <= max(5, total * 0.1), traffic.statuses  # the canary's share at most, not everything
    print(f"broken holds version: {traffic.failed} failed of {total} requests ({traffic.statuses})")
