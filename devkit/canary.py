"""The zero-downtime drills (design question 2) against a deployed stack: a new seat-holds version shifted in by its
CodeDeploy canary group under steady API traffic, or a broken one stopped and rolled back by its error alarm.

Shared by the tour (devkit/tours/zero_downtime.py) and the e2e test (tests/e2e/test_zero_downtime.py). On the local
cloud a deployment configuration's minute can be made one second (``/_localcloud/codedeploy/minute``), so a drill
takes seconds; on AWS the same calls wait the configuration's real minutes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from localcloud.aws import local_client


@dataclass(frozen=True)
class HoldsDeployment:
    """The seat-holds function behind its ``live`` alias, and the CodeDeploy application and group that shift it."""

    endpoint_url: str
    function: str
    app: str
    group: str

    @classmethod
    def find(cls, endpoint_url: str, stack: str = "Marquee") -> HoldsDeployment:
        cfn = local_client("cloudformation", endpoint_url)
        resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
        by_type: dict[str, list[dict[str, Any]]] = {}
        for resource in resources:
            by_type.setdefault(resource["ResourceType"], []).append(resource)
        [alias] = [r for r in by_type["AWS::Lambda::Alias"] if r["LogicalResourceId"].startswith("SeatHoldsLive")]
        [group] = by_type["AWS::CodeDeploy::DeploymentGroup"]
        [app] = by_type["AWS::CodeDeploy::Application"]
        return cls(
            endpoint_url=endpoint_url,
            function=alias["PhysicalResourceId"].split(":")[6],
            app=app["PhysicalResourceId"],
            group=group["PhysicalResourceId"],
        )

    def live_version(self) -> str:
        return str(
            local_client("lambda", self.endpoint_url).get_alias(FunctionName=self.function, Name="live")[
                "FunctionVersion"
            ]
        )

    def publish_and_deploy(self, timeout_s: float = 60, **change: str) -> tuple[dict[str, Any], str, str]:
        """Change the function's configuration, publish a version, and deploy it onto ``live`` through the group;
        the deployment's final info, the version it started from and the target version."""
        lam, codedeploy = local_client("lambda", self.endpoint_url), local_client("codedeploy", self.endpoint_url)
        current = self.live_version()
        lam.update_function_configuration(FunctionName=self.function, **change)
        target = lam.publish_version(FunctionName=self.function)["Version"]
        properties = {"Name": self.function, "Alias": "live", "CurrentVersion": current, "TargetVersion": target}
        appspec = {
            "version": 0.0,
            "Resources": [{"holds": {"Type": "AWS::Lambda::Function", "Properties": properties}}],
        }
        deployment_id = codedeploy.create_deployment(
            applicationName=self.app,
            deploymentGroupName=self.group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
        )["deploymentId"]
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            info: dict[str, Any] = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
            if info["status"] in ("Succeeded", "Failed", "Stopped"):
                return info, current, target
            time.sleep(0.1)
        raise TimeoutError(f"deployment {deployment_id} did not finish in {timeout_s:.0f} s")

    def broken_deploy(self) -> tuple[dict[str, Any], str]:
        """Deploy a version whose handler does not exist (every invocation fails), then put the handler back on
        ``$LATEST``; the deployment's info and the version ``live`` started from."""
        lam = local_client("lambda", self.endpoint_url)
        handler = lam.get_function_configuration(FunctionName=self.function)["Handler"]
        good = self.live_version()
        try:
            info, good, _ = self.publish_and_deploy(Handler="functions.holds.handler.missing")
        finally:
            lam.update_function_configuration(FunctionName=self.function, Handler=handler)
            if self.live_version() != good:
                # the alarm did not stop it (no request reached the canary in time): the drill failed, but the broken
                # version must not keep serving the routes for whatever runs next
                lam.update_alias(FunctionName=self.function, Name="live", FunctionVersion=good, RoutingConfig={})
        return info, good


@contextmanager
def fast_minutes(endpoint_url: str, seconds: float = 1) -> Iterator[None]:
    """The local cloud's deployment configurations with a ``seconds``-long minute, back to what it was afterwards."""
    url = f"{endpoint_url}/_localcloud/codedeploy/minute"
    before = requests.get(url, timeout=10).json()["minuteSeconds"]
    requests.post(f"{url}?seconds={seconds}", timeout=10).raise_for_status()
    try:
        yield
    finally:
        requests.post(f"{url}?seconds={before}", timeout=10).raise_for_status()


BROKEN_DRILL_MINUTE_S = 4.0  # the canary's window in the broken drill: long enough for requests to reach it under load
BROKEN_DRILL_LOOPS = 4


class ApiTraffic:
    """GET ``url`` in ``loops`` loops: each answer is counted by status; a 5xx is a failed request."""

    def __init__(self, url: str, auth: str, loops: int = 2) -> None:
        self.url, self.auth = url, auth
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(loops)]

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

    @property
    def total(self) -> int:
        return sum(self.statuses.values())
