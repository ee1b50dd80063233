"""Feature-flag evaluation cost: Powertools' AppConfig store with its cache (the normal case) versus without (every
evaluation asks AppConfig Data), against a local cloud. Prints figures; `flag_evaluation_cost()` returns them."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.feature_flags import AppConfigStore, FeatureFlags

from localcloud.aws import local_client
from tests.cloud_process import CloudProcess

FLAGS = json.loads((Path(__file__).resolve().parent.parent / "infra" / "feature_flags.json").read_text())


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": ordered[len(ordered) // 2] * 1e6,
        "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6,
        "mean_us": statistics.fmean(samples) * 1e6,
    }


def _time(flags: FeatureFlags, n: int) -> list[float]:
    context = {"tenant": "t1", "user_id": "u1", "groups": [], "user_bucket": 7}
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        flags.evaluate(name="seat_suggestions_v2", context=context, default=False)
        samples.append(time.perf_counter() - started)
    return samples


def flag_evaluation_cost(endpoint_url: str, n: int = 300) -> dict[str, Any]:
    appconfig = local_client("appconfig", endpoint_url)
    app = appconfig.create_application(Name="bench-flags")["Id"]
    env = appconfig.create_environment(ApplicationId=app, Name="bench")["Id"]
    profile = appconfig.create_configuration_profile(ApplicationId=app, Name="flags", LocationUri="hosted")["Id"]
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=app,
        ConfigurationProfileId=profile,
        Content=json.dumps(FLAGS).encode(),
        ContentType="application/json",
    )["VersionNumber"]
    appconfig.start_deployment(
        ApplicationId=app,
        EnvironmentId=env,
        DeploymentStrategyId="AppConfig.AllAtOnce",
        ConfigurationProfileId=profile,
        ConfigurationVersion=str(version),
    )
    data = local_client("appconfigdata", endpoint_url)
    cached = FeatureFlags(store=AppConfigStore("bench", "bench-flags", "flags", max_age=300, boto3_client=data))
    uncached = FeatureFlags(store=AppConfigStore("bench", "bench-flags", "flags", max_age=0, boto3_client=data))
    _time(cached, 5)
    _time(uncached, 5)
    result = {"cached": _percentiles(_time(cached, n)), "uncached": _percentiles(_time(uncached, n // 3))}
    result["ratio_p50"] = result["uncached"]["p50_us"] / result["cached"]["p50_us"]
    return result


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        cloud = CloudProcess(Path(tmp) / "cloud")
        try:
            print(json.dumps(flag_evaluation_cost(cloud.endpoint_url), indent=2))
        finally:
            cloud.stop()
