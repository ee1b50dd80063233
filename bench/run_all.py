"""Benchmarks of the local cloud, measured side by side in one run; figures go to stdout and docs/benchmarks.md.

- warm invoke through the front door vs the same handler called in-process (p50/p99, added overhead);
- cold start (a new worker's first invoke) vs a warm invoke;
- stack deploy time with the real CDK CLI onto a fresh local cloud;
- `make demo` from a fresh clone, installs included (only with --fresh-clone: it takes minutes).

Never used as assertions: machines are shared and noisy. Run with `make bench` (add BENCH_ARGS=--fresh-clone).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from devkit.deploy import deploy  # noqa: E402
from tests.cloud_process import CloudProcess, free_port  # noqa: E402


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(samples, 50),
        "p99": percentile(samples, 99),
        "mean": statistics.fmean(samples),
        "n": len(samples),
    }


def in_process_handler_latency(event: dict[str, Any], n: int) -> list[float]:
    """The health function's handler, imported and called in this process (no HTTP, no worker)."""
    os.environ.update(
        {
            "POWERTOOLS_SERVICE_NAME": "health",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Marquee",
            "TABLE_NAME": "t",
            "QUEUE_URL": "q",
            "EVENT_BUS_NAME": "b",
            "SECRET_ARN": "s",
            "STATE_MACHINE_ARN": "m",
            "HEALTH_CHECK_TIMEOUT_MS": "2000",
            "HEALTH_CHECK_WARN_MS": "1000",
            "LOG_LEVEL": "WARNING",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common" / "python")]
    handler = importlib.import_module("functions.health.handler").handler
    from localcloud.lambda_.worker_bootstrap import LambdaContext

    samples = []
    for _ in range(n):
        context = LambdaContext(
            {"requestId": "bench", "deadlineMs": int(time.time() * 1000) + 3000},
            {
                "functionArn": "arn",
                "functionName": "health",
                "functionVersion": "$LATEST",
                "memorySize": 256,
                "logGroupName": "g",
                "logStreamName": "s",
            },
        )
        started = time.perf_counter()
        response = handler(event, context)
        samples.append((time.perf_counter() - started) * 1000)
        assert response["statusCode"] == 200
    return samples


def front_door_latency(url: str, n: int) -> list[float]:
    session = requests.Session()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = session.get(url, timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return samples


def cold_starts(cloud: CloudProcess, function_name: str, n: int) -> tuple[list[float], list[float]]:
    """Cold: the first invoke after the function's configuration changed (a new execution environment). Warm: the next."""
    from localcloud.aws import local_client

    client = local_client("lambda", cloud.endpoint_url)
    event = json.loads((ROOT / "events" / "health" / "liveness.json").read_text())
    config = client.get_function_configuration(FunctionName=function_name)
    cold, warm = [], []
    for i in range(n):
        variables = {**config["Environment"]["Variables"], "BENCH_ROUND": str(i)}
        client.update_function_configuration(FunctionName=function_name, Environment={"Variables": variables})
        for bucket in (cold, warm):
            started = time.perf_counter()
            client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
            bucket.append((time.perf_counter() - started) * 1000)
    return cold, warm


def wait_until_quiet(endpoint: str, quiet_s: float = 3.0, timeout_s: float = 240.0) -> float:
    """Seconds until no Lambda worker of the cloud has been busy for ``quiet_s`` (pollers and the event router hand
    every backlog to workers, so idle workers for a few seconds mean the backlog is gone)."""
    started = time.monotonic()
    quiet_since: float | None = None
    while time.monotonic() - started < timeout_s:
        workers = requests.get(f"{endpoint}/_localcloud/stats", timeout=10).json()["workers"]
        busy = sum(int(counts.get("busy", 0)) for counts in workers.values())
        now = time.monotonic()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_s:
            return round(now - started - quiet_s, 1)
        time.sleep(0.2)
    return round(time.monotonic() - started, 1)


def fresh_clone_demo() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "marquee"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        port = free_port()
        started = time.perf_counter()
        result = subprocess.run(
            ["make", "demo", f"PORT={port}"], cwd=clone, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - started
        subprocess.run(["make", "down"], cwd=clone, capture_output=True, check=False)
        last = [line for line in result.stdout.splitlines() if line.startswith("demo:")]
        return {"seconds": seconds, "exit": result.returncode, "summary": last[-1] if last else result.stdout[-500:]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cold", type=int, default=10)
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--fresh-clone", action="store_true", help="also time `make demo` from a fresh clone (minutes)")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    from bench.flags import flag_evaluation_cost
    from bench.moto_query import moto_query_cost
    from bench.notifications import notification_figures
    from bench.outbox import outbox_lag
    from bench.payments import idempotency_overhead
    from bench.saga import saga_throughput
    from bench.seat_race import seat_race
    from bench.webhooks import signing_cost
    from devkit.functions import resolve_function_name

    with tempfile.TemporaryDirectory() as tmp:
        cloud = CloudProcess(Path(tmp) / "cloud")
        try:
            outputs_file, assembly = Path(tmp) / "outputs.json", Path(tmp) / "cdk.out"
            first = deploy(cloud.endpoint_url, quiet=True, outputs_file=outputs_file, assembly=assembly)
            again = deploy(cloud.endpoint_url, quiet=True, outputs_file=outputs_file, assembly=assembly)
            results["deploy"] = {"first_with_bootstrap_s": first.seconds, "update_s": again.seconds}
            outputs = json.loads(outputs_file.read_text())["Marquee"]
            endpoint = cloud.endpoint_url
            url = f"{endpoint}/_aws/execute-api/{outputs['ApiId']}/{outputs['StageName']}/health"
            front_door_latency(url, 20)  # warm the worker
            event = json.loads((ROOT / "events" / "health" / "liveness.json").read_text())
            in_process = in_process_handler_latency(event, args.requests)
            through = front_door_latency(url, args.requests)
            warm = {"in_process": summary(in_process), "front_door": summary(through)}
            warm["added_overhead"] = {
                "p50": warm["front_door"]["p50"] - warm["in_process"]["p50"],
                "p99": warm["front_door"]["p99"] - warm["in_process"]["p99"],
            }
            results["warm_invoke_ms"] = warm
            cold, warm_invokes = cold_starts(cloud, resolve_function_name("health", endpoint), args.cold)
            results["cold_start_ms"] = {"cold": summary(cold), "warm": summary(warm_invokes)}
            results["seat_race"] = seat_race(endpoint, outputs)
            results["saga"] = saga_throughput(endpoint, outputs, orders=args.orders)
            # The saga's orders leave work behind (their events, notifications, webhooks): latencies measured on top
            # of that backlog measure the queue, not the path. Each latency bench starts on a quiet platform.
            results["settle_s"] = {"before_outbox": wait_until_quiet(endpoint)}
            results["outbox_lag"] = outbox_lag(endpoint, outputs)
            results["settle_s"]["before_notifications"] = wait_until_quiet(endpoint)
            results["notifications"] = notification_figures(endpoint, outputs, events=30)
            results["flags"] = flag_evaluation_cost(endpoint)
        finally:
            cloud.stop()
    results["idempotency"] = idempotency_overhead(runs=200, rounds=3)
    results["webhook_signing_us"] = signing_cost()
    results["moto_query"] = moto_query_cost()
    if args.fresh_clone:
        results["make_demo_fresh_clone"] = fresh_clone_demo()
    print(json.dumps(results, indent=2, default=str))
    record(results)


def record(results: dict[str, Any]) -> None:
    """Replace the 'Latest run' section of docs/benchmarks.md with these figures (and keep the raw JSON beside it)."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    marker = "## Latest run"
    head = text.split(marker)[0].rstrip() + "\n\n"
    (ROOT / "bench" / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    w, cold, deploy_s = results["warm_invoke_ms"], results["cold_start_ms"], results["deploy"]

    def row(label: str, p50: float, p99: float, goal: str = "", digits: int = 2) -> str:
        return f"| {label} | {p50:.{digits}f} | {p99:.{digits}f} | {goal} |"

    race, saga, lag, flags = results["seat_race"], results["saga"], results["outbox_lag"], results["flags"]
    idem, signing = results["idempotency"], results["webhook_signing_us"]
    lines = [
        marker,
        f"{results['date']} on {results['machine']} (`make bench`; raw figures in bench/latest.json).",
        "",
        "| measure | p50 | p99 | goal |",
        "|---|---|---|---|",
        row("health handler in-process (ms)", w["in_process"]["p50"], w["in_process"]["p99"]),
        row("same handler through the front door (ms)", w["front_door"]["p50"], w["front_door"]["p99"]),
        row(
            "added by the front door + runner (ms)",
            w["added_overhead"]["p50"],
            w["added_overhead"]["p99"],
            "≤ 5 / ≤ 20",
        ),
        row("cold start, Invoke API (ms)", cold["cold"]["p50"], cold["cold"]["p99"], "≤ 1000", 0),
        row("warm invoke, Invoke API (ms)", cold["warm"]["p50"], cold["warm"]["p99"], "", 1),
        row(f"seat race, {race['racers']} holds of one seat (ms)", race["p50_ms"], race["p99_ms"], "1 winner", 0),
        row(
            "saga, POST /orders -> CONFIRMED (ms)",
            saga["latency_to_confirmed_p50_ms"],
            saga["latency_to_confirmed_p99_ms"],
            "",
            0,
        ),
        row("outbox lag, commit -> EventBridge target (ms)", lag["p50_ms"], lag["p99_ms"], "", 0),
        row("payment, idempotent handler (ms)", idem["idempotent_p50_ms"], idem["idempotent_p99_ms"]),
        row("payment, same handler without idempotency (ms)", idem["plain_p50_ms"], idem["plain_p99_ms"]),
        row("flag evaluation, cached (µs)", flags["cached"]["p50_us"], flags["cached"]["p99_us"], "", 1),
        row("flag evaluation, uncached (µs)", flags["uncached"]["p50_us"], flags["uncached"]["p99_us"], "", 0),
    ]
    for channel, figures in results["notifications"]["channels"].items():
        lines.append(
            row(
                f"notification {channel}, event -> provider (ms)",
                figures["latencyMsP50"],
                figures["latencyMsP99"],
                "",
                0,
            )
        )
    redrive = results["notifications"]["redrive"]
    throughput = ", ".join(f"{c} {f['messagesPerSecond']}/s" for c, f in results["notifications"]["channels"].items())
    lines += [
        "",
        f"- Deploy with the real CDK CLI onto a fresh local cloud, bootstrap included: "
        f"{deploy_s['first_with_bootstrap_s']:.1f} s; a second deploy (no changes): {deploy_s['update_s']:.1f} s (goal ≤ 30 s).",
        f"- Seat race: {race['winners']} winner(s), {race['conflicts']} conflicts, {race['other']} other "
        f"({race['concurrency']} in flight, {race['requests_per_s']} requests/s).",
        f"- Idempotency overhead: {idem['ratio_p50']:.2f}x at p50 (goal ≤ {idem['goal_ratio']}x).",
        f"- Saga: {saga['orders_per_minute']} orders/min ({saga['orders']} orders, {saga['concurrency']} in flight), "
        f"outcomes {saga['outcomes']}.",
        f"- Outbox: {lag['delivered']}/{lag['events']} events delivered, measured once the saga's backlog had drained "
        f"({results.get('settle_s', {}).get('before_outbox', 'n/a')} s after the saga bench).",
        f"- Notifications: {throughput}; DLQ redrive {redrive['moved']} messages at {redrive['perSecond']}/s "
        f"({redrive['mode']}).",
        f"- Flag evaluation: uncached/cached = {flags['ratio_p50']:.0f}x at p50.",
        f"- Webhook signing: {signing['sign_1_secret_us']:.1f} µs per signature ({signing['sign_2_secrets_us']:.1f} µs with two "
        f"secrets during a rotation, {signing['sign_256kb_us']:.0f} µs for a 256 KB body); verify {signing['verify_us']:.1f} µs.",
    ]
    for query in results["moto_query"]["rows"]:
        lines.append(
            f"- moto Query of one {results['moto_query']['partition_items']}-item partition in a {query['items']}-item "
            f"table: {query['moto_ms']:.1f} ms unpatched, {query['patched_ms']:.1f} ms with `moto_speed` "
            f"({query['ratio']:.0f}x)."
        )
    if "make_demo_fresh_clone" in results:
        demo = results["make_demo_fresh_clone"]
        lines.append(
            f"- `make demo` from a fresh clone, installs included: {demo['seconds']:.0f} s, exit {demo['exit']}, "
            f"`{demo['summary']}` (goal ≤ 180 s)."
        )
    path.write_text(head + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
