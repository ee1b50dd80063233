"""What maintenance mode costs a request that is not in maintenance (marquee.http.maintenance): the ``maintenance_mode``
flag evaluated by Powertools' FeatureFlags from its cached document (the AppConfig fetch every FLAGS_MAX_AGE_SECONDS
is bench/flags.py's), in-process, with the shipped flags and with three maintenance rules that do not match.

`python -m bench.maintenance` prints the figures as JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from devkit.layer import use_layer

use_layer()  # the kernel (marquee) is the common layer's

from aws_lambda_powertools.utilities.feature_flags import FeatureFlags  # noqa: E402
from aws_lambda_powertools.utilities.feature_flags.base import StoreProvider  # noqa: E402

from devkit import maintenance as switch  # noqa: E402
from marquee.http.maintenance import Maintenance  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = json.loads((ROOT / "infra" / "feature_flags.json").read_text())
EVENT = {
    "resource": "/payments/{paymentId}",
    "path": "/payments/p1",
    "httpMethod": "GET",
    "requestContext": {"requestId": "r1", "authorizer": {"claims": {"custom:tenant_id": "t1", "sub": "u1"}}},
}


class _Cached(StoreProvider):
    """The document as AppConfigStore returns it between fetches."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def get_raw_configuration(self) -> dict[str, Any]:
        return self.document

    def get_configuration(self) -> dict[str, Any]:
        return self.document


def check_cost(document: dict[str, Any], n: int = 5_000) -> dict[str, float]:
    flags = FeatureFlags(store=_Cached(document))
    maintenance = Maintenance(
        "payments", lambda name, ctx, default: flags.evaluate(name=name, context=dict(ctx), default=default)
    )
    for _ in range(200):
        assert maintenance.check(EVENT) is None
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        maintenance.check(EVENT)
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return {"p50_us": round(samples[n // 2], 1), "p99_us": round(samples[int(n * 0.99)], 1)}


def main() -> None:
    three_rules = switch.switch_on(SHIPPED, service="orders")
    three_rules = switch.switch_on(three_rules, service="payments", tenant="t9")
    three_rules = switch.switch_on(three_rules, service="payments", writes_only=True)
    print(
        json.dumps(
            {
                "shipped flags (no maintenance_mode flag)": check_cost(SHIPPED),
                "three maintenance rules, none matching": check_cost(three_rules),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
