"""Benchmark: the cost of idempotency on POST /payments (challenge 2).

The real payments handler, in-process, on moto (tables + secrets) and two in-process simulated providers: the same
payload, each run with a new Idempotency-Key (so every run really charges), once with Powertools idempotency on and
once with it off (``POWERTOOLS_IDEMPOTENCY_DISABLED``), interleaved in rounds so that drift hits both alike. Goal: a
ratio of at most 1.5x. Figures only, never an assertion (shared machines are noisy).

    .venv/bin/python -m bench.payments [--runs 300]
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT / "layers" / "common" / "python"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

EVENT = ROOT / "events" / "payments" / "create_payment.json"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "payments",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "MarqueeBench",
    "POWERTOOLS_DEV": "false",
    "LOG_LEVEL": "ERROR",
}


class _Context:
    function_name = "payments-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:payments-bench"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 20_000


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def idempotency_overhead(runs: int = 300, rounds: int = 5, warmup: int = 20) -> dict[str, Any]:
    """Median/p99 latency of the payments handler with idempotency on vs off, and their ratio (goal <= 1.5)."""
    import warnings

    import boto3
    from moto import mock_aws

    from devkit.providers import PaymentProvider
    from localcloud.dynamodb import atomicity as dynamodb_atomicity
    from marquee.core import aws
    from marquee.payments import config as payments_config
    from marquee.payments import provider as provider_client
    from tests.integration.conftest import use_tenant_role
    from tests.integration.payments.conftest import API_KEYS, SETTINGS, create_tables

    dynamodb_atomicity.install()  # as in the local cloud: transactions without moto's whole-table rollback copies
    warnings.filterwarnings("ignore", message="Disabling idempotency")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    saved_env = {
        k: os.environ.get(k)
        for k in [*ENVIRONMENT, *SETTINGS, "POWERTOOLS_IDEMPOTENCY_DISABLED", "TABLE_ARN", "TENANT_ROLE_ARN"]
    }
    os.environ.update({**ENVIRONMENT, **SETTINGS})
    providers = {
        name: PaymentProvider(name, host="127.0.0.1", port=0, api_keys=_constant_keys(API_KEYS[name]))
        for name in API_KEYS
    }
    for provider in providers.values():
        provider.start()
    template = json.loads(EVENT.read_text())
    samples: dict[str, list[float]] = {"on": [], "off": []}
    try:
        with mock_aws():
            aws.clear_clients()
            payments_config.default_deps.cache_clear()
            provider_client.clear_caches()
            create_tables(boto3.client("dynamodb", region_name="us-east-1"))
            use_tenant_role(SETTINGS["TABLE_NAME"])  # the function reaches the table through the tenant-access role
            secrets = boto3.client("secretsmanager", region_name="us-east-1")
            for name, provider in providers.items():
                secrets.create_secret(
                    Name=f"marquee/payments/{name}",
                    SecretString=json.dumps({"url": provider.url, "apiKey": API_KEYS[name]}),
                )
            handler = _load_handler()

            def once(mode: str) -> float:
                event = copy.deepcopy(template)
                event["headers"]["Idempotency-Key"] = str(uuid.uuid4())
                if mode == "off":
                    os.environ["POWERTOOLS_IDEMPOTENCY_DISABLED"] = "1"
                else:
                    os.environ.pop("POWERTOOLS_IDEMPOTENCY_DISABLED", None)
                started = time.perf_counter()
                result = handler.handler(event, _Context())
                elapsed = (time.perf_counter() - started) * 1000
                if result["statusCode"] != 201:
                    raise RuntimeError(f"bench payment failed: {result['statusCode']} {result['body']}")
                return elapsed

            for _ in range(warmup):
                once("on")
                once("off")
            per_round = max(1, runs // rounds)
            for _ in range(rounds):
                for mode in ("on", "off"):
                    samples[mode] += [once(mode) for _ in range(per_round)]
    finally:
        for provider in providers.values():
            provider.stop()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        payments_config.default_deps.cache_clear()
        provider_client.clear_caches()
        aws.clear_clients()
    on, off = samples["on"], samples["off"]
    figures = {
        "runs_per_mode": len(on),
        "idempotent_p50_ms": statistics.median(on),
        "idempotent_p99_ms": _percentile(on, 99),
        "plain_p50_ms": statistics.median(off),
        "plain_p99_ms": _percentile(off, 99),
        "ratio_p50": statistics.median(on) / statistics.median(off),
        "ratio_mean": statistics.fmean(on) / statistics.fmean(off),
        "goal_ratio": 1.5,
    }
    figures["within_goal"] = figures["ratio_p50"] <= figures["goal_ratio"]
    return figures


def _constant_keys(key: str) -> Callable[[], frozenset[str]]:
    return lambda: frozenset({key})


def _load_handler() -> Any:
    """``functions.payments.handler`` as a fresh cold start (as its Lambda handler setting names it)."""
    from tools.api_functions import forget_package

    forget_package("functions.payments")
    return importlib.import_module("functions.payments.handler")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="payments per mode")
    args = parser.parse_args()
    figures = idempotency_overhead(runs=args.runs)
    print("POST /payments, in-process on moto, a new key per payment (each really charges)")
    print(f"  idempotency on : p50 {figures['idempotent_p50_ms']:.2f} ms  p99 {figures['idempotent_p99_ms']:.2f} ms")
    print(f"  idempotency off: p50 {figures['plain_p50_ms']:.2f} ms  p99 {figures['plain_p99_ms']:.2f} ms")
    print(
        f"  ratio p50 {figures['ratio_p50']:.2f}x, mean {figures['ratio_mean']:.2f}x "
        f"(goal <= {figures['goal_ratio']}x: {'met' if figures['within_goal'] else 'NOT met'}), "
        f"{figures['runs_per_mode']} runs per mode"
    )


if __name__ == "__main__":
    main()
