"""Tour scenarios of design question 2 (zero-downtime deploys): a new seat-holds version shifted in by its CodeDeploy
canary under steady traffic with no failed request, and a broken one stopped by its error alarm and rolled back, its
failures within the canary's share. The drills are devkit.canary's (tests/e2e/test_zero_downtime.py runs the same)."""

from __future__ import annotations

import time

from devkit.canary import BROKEN_DRILL_LOOPS, BROKEN_DRILL_MINUTE_S, ApiTraffic, HoldsDeployment, fast_minutes
from devkit.tour import Tour, expect, scenario

TENANT = "tour-canary"


@scenario("deploys: a new seat-holds version ships through its canary under traffic with 0 failed requests")
def _good_version(tour: Tour) -> list[str]:
    with fast_minutes(tour.endpoint_url):
        holds = HoldsDeployment.find(tour.endpoint_url)
        before = holds.live_version()
        started = time.perf_counter()
        with ApiTraffic(f"{tour.base}/holds/hold_unknown", tour.token(TENANT, "steady")) as traffic:
            time.sleep(1.0)
            info, _, target = holds.publish_and_deploy(Description="tour: same code, a new version")
            time.sleep(0.5)
    expect(info["status"] == "Succeeded", f"the deployment ended {info['status']}: {info.get('errorInformation')}")
    expect(holds.live_version() == target, "live does not point at the new version")
    expect(traffic.failed == 0, f"{traffic.failed} failed requests: {dict(traffic.statuses)}")
    return [
        f"live: version {before} -> {target} through {holds.group} (a config minute = 1 s here)",
        f"{traffic.total} requests during the shift: {dict(traffic.statuses)} (404: no such hold; 0 failed)",
        f"deployment {info['deploymentId']} {info['status']} in {time.perf_counter() - started:.1f} s",
    ]


@scenario("deploys: a broken seat-holds version is stopped by its alarm and rolled back, failures only on the canary")
def _broken_version(tour: Tour) -> list[str]:
    with fast_minutes(tour.endpoint_url, seconds=BROKEN_DRILL_MINUTE_S):
        holds = HoldsDeployment.find(tour.endpoint_url)
        token = tour.token(TENANT, "steady")
        with ApiTraffic(f"{tour.base}/holds/hold_unknown", token, BROKEN_DRILL_LOOPS) as traffic:
            time.sleep(1.0)
            info, good = holds.broken_deploy()
            time.sleep(0.5)
    code = (info.get("errorInformation") or {}).get("code")
    expect(info["status"] == "Stopped" and code == "ALARM_ACTIVE", f"the deployment ended {info['status']} ({code})")
    expect(holds.live_version() == good, "live was not rolled back to the good version")
    share = traffic.failed / max(1, traffic.total)
    expect(0 < traffic.failed <= max(5, traffic.total * 0.1), f"failures outside the canary: {dict(traffic.statuses)}")
    return [
        f"deployment {info['deploymentId']} Stopped: {code} ({info['errorInformation'].get('message', '')[:90]})",
        f"live is back on version {good}",
        f"{traffic.failed} failed of {traffic.total} requests ({share:.1%}; the canary takes 10 %)",
    ]
