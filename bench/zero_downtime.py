"""Zero-downtime deploy drills on the local cloud: a good v2 and a broken v2 shipped by a CodeDeploy canary under steady
traffic. Prints the failed requests of each, the broken version's failures against its canary share, and the time to
roll back. `python -m bench.zero_downtime [--minute SECONDS] [--canary-minutes N]`.

The cloud runs in this process on a free port; a configuration minute lasts ``--minute`` seconds (default 3), so the
10 % canary of ``--canary-minutes`` minutes (default 5, like CodeDeployDefault.LambdaCanary10Percent5Minutes) is short.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import tempfile
import threading
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from localcloud.aws import local_client
from localcloud.server import LocalCloud, Settings

ROLE = "arn:aws:iam::123456789012:role/drill"
GOOD = "def handler(event, context):\n    return {'ok': True}\n"
BROKEN = "def handler(event, context):\n    raise RuntimeError('v2 is broken')\n"


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def drill(aws: Any, name: str, second: str, minutes: int) -> dict[str, Any]:
    lam, cd, cw = aws("lambda"), aws("codedeploy"), aws("cloudwatch")
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": _zip(GOOD)}, Timeout=5)  # fmt: skip
    v1 = lam.publish_version(FunctionName=name)["Version"]
    lam.update_function_code(FunctionName=name, ZipFile=_zip(second))
    v2 = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=v1)
    dims = [{"Name": "FunctionName", "Value": name}, {"Name": "Resource", "Value": f"{name}:live"}]
    cw.put_metric_alarm(AlarmName=f"{name}-errors", Namespace="AWS/Lambda", MetricName="Errors", Dimensions=dims,
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")  # fmt: skip
    config = f"{name}-canary"
    cd.create_deployment_config(deploymentConfigName=config, computePlatform="Lambda", trafficRoutingConfig={
        "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": minutes}})  # fmt: skip
    cd.create_application(applicationName=name, computePlatform="Lambda")
    cd.create_deployment_group(applicationName=name, deploymentGroupName=name, serviceRoleArn=ROLE,
        deploymentConfigName=config,
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        alarmConfiguration={"enabled": True, "alarms": [{"name": f"{name}-errors"}]},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]})  # fmt: skip

    ran: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    stop = threading.Event()

    def traffic() -> None:
        client = local_client("lambda", aws.endpoint)
        while not stop.is_set():
            response = client.invoke(FunctionName=f"{name}:live", Payload=b"{}")
            response["Payload"].read()
            ran[response["ExecutedVersion"]] += 1
            failed[response["ExecutedVersion"]] += bool(response.get("FunctionError"))

    threads = [threading.Thread(target=traffic, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    before = sum(ran.values())
    appspec = {"version": 0.0, "Resources": [{"fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Name": name, "Alias": "live", "CurrentVersion": v1, "TargetVersion": v2}}}]}  # fmt: skip
    started = time.monotonic()
    deployment_id = cd.create_deployment(applicationName=name, deploymentGroupName=name, revision={
        "revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}})["deploymentId"]  # fmt: skip
    while (info := cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"])["status"] not in (
        "Succeeded", "Failed", "Stopped"):  # fmt: skip
        time.sleep(0.05)
    took = time.monotonic() - started
    during = sum(ran.values()) - before
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    return {
        "status": info["status"], "seconds": round(took, 2), "requests_during": during,
        "requests": sum(ran.values()), "failed": sum(failed.values()), "v2_requests": ran[v2],
        "v2_share_during": round(ran[v2] / max(during, 1), 3), "alias_after": lam.get_alias(
            FunctionName=name, Name="live")["FunctionVersion"], "v1": v1, "v2": v2,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minute", type=float, default=3.0)
    parser.add_argument("--canary-minutes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        settings = Settings(port=_port(), state_dir=Path(state), quiet=True, deploy_minute_s=args.minute)
        cloud = LocalCloud(settings).start()
        try:
            clients: dict[str, Any] = {}

            def aws(service: str) -> Any:
                return clients.setdefault(service, local_client(service, settings.endpoint_url))

            aws.endpoint = settings.endpoint_url  # type: ignore[attr-defined]
            aws("iam").create_role(RoleName="drill", AssumeRolePolicyDocument="{}")
            good = drill(aws, "drill-good", GOOD.replace("True", "'v2'"), args.canary_minutes)
            print(f"good v2:   {good}")
            bad = drill(aws, "drill-broken", BROKEN, args.canary_minutes)
            print(f"broken v2: {bad}")
            print(
                f"figures: good deploy {good['failed']} failed of {good['requests']} requests in {good['seconds']} s; "
                f"broken deploy {bad['failed']} failed of {bad['requests_during']} during the deployment "
                f"({bad['failed'] / max(bad['requests_during'], 1):.1%}; canary share 10 %), rolled back "
                f"{bad['seconds']} s after it started (canary window {args.canary_minutes * args.minute:.0f} s)"
            )
        finally:
            cloud.shutdown(deadline_s=5)


if __name__ == "__main__":
    main()
