"""Deployment configurations for the Lambda compute platform: the predefined ones and custom ones.

A configuration is a list of steps, each the share of the alias's traffic the target version gets and the minutes to
wait before the next step (CodeDeploy UG, "Deployment configurations on an AWS Lambda compute platform"):
- ``AllAtOnce``: 100 % at once;
- ``TimeBasedCanary`` (percentage P, interval I): P % for I minutes, then 100 %;
- ``TimeBasedLinear`` (percentage P, interval I): P %, 2P %, … each for I minutes, then 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    percent: float  # of the alias's traffic on the target version
    wait_minutes: float  # before the next step (0 for the last)


def canary(percent: int, minutes: int) -> dict[str, Any]:
    return {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": percent, "canaryInterval": minutes}}


def linear(percent: int, minutes: int) -> dict[str, Any]:
    return {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": percent, "linearInterval": minutes}}


PREDEFINED: dict[str, dict[str, Any]] = {
    "CodeDeployDefault.LambdaAllAtOnce": {"type": "AllAtOnce"},
    **{f"CodeDeployDefault.LambdaCanary10Percent{m}Minutes": canary(10, m) for m in (5, 10, 15, 30)},
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute": linear(10, 1),
    **{f"CodeDeployDefault.LambdaLinear10PercentEvery{m}Minutes": linear(10, m) for m in (2, 3, 10)},
}


def steps(routing: dict[str, Any]) -> list[Step]:
    kind = routing.get("type", "AllAtOnce")
    if kind == "TimeBasedCanary":
        spec = routing["timeBasedCanary"]
        return [Step(float(spec["canaryPercentage"]), float(spec["canaryInterval"])), Step(100.0, 0.0)]
    if kind == "TimeBasedLinear":
        spec = routing["timeBasedLinear"]
        share, minutes = float(spec["linearPercentage"]), float(spec["linearInterval"])
        out, current = [], share
        while current < 100:
            out.append(Step(current, minutes))
            current += share
        return [*out, Step(100.0, 0.0)]
    return [Step(100.0, 0.0)]


def routing_of(backend: Any, name: str) -> dict[str, Any] | None:
    """The traffic routing of a configuration: predefined, or custom in ``backend`` (None if unknown)."""
    if name in PREDEFINED:
        return PREDEFINED[name]
    custom = getattr(backend, "lambda_deployment_configs", {}).get(name)
    return None if custom is None else dict(custom["trafficRoutingConfig"])
