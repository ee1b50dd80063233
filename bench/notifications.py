"""Notification benchmarks on a deployed local cloud (figures, never assertions):

- throughput per channel: N booking events published to the bus (each fans out to email, SMS, push), messages per
  second from the first publish to the channel's last message at its provider;
- end-to-end latency from the event (its publish time) to the provider's receipt, p50 and p99, per channel;
- DLQ redrive throughput: M messages put in a channel's DLQ, moved back by `marquee dlq redrive` (receive-send-delete:
  moto has no StartMessageMoveTask), messages per second.

Run: `python -m bench.notifications [--endpoint http://localhost:4566] [--events 60] [--dlq 100]` against a cloud where
`marquee deploy` ran (stack outputs in .localcloud/outputs.json unless --outputs is given).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from devkit.dlq import Dlqs
from devkit.events import publish_event
from devkit.notification_providers import provider_urls
from localcloud.aws import local_client

CHANNELS = ("email", "sms", "push")


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def _delivered(urls: dict[str, str], channel: str, customers: set[str]) -> list[dict[str, Any]]:
    found = []
    for role in ("primary", "backup"):
        messages = requests.get(f"{urls[f'{channel}-{role}']}/_admin/messages", timeout=10).json()["messages"]
        found += [m for m in messages if m["to"] in customers]
    return found


def notification_figures(
    endpoint_url: str, outputs: dict[str, Any], *, events: int = 60, customers: int = 12, dlq_messages: int = 100
) -> dict[str, Any]:
    bus = outputs["EventBusName"]
    client = local_client("events", endpoint_url)
    urls = provider_urls(urlparse(endpoint_url).port or 4566)
    run = uuid.uuid4().hex[:6]
    people = [f"bench-{run}-{i}" for i in range(customers)]
    published_ms: dict[str, float] = {}

    def publish(i: int) -> None:
        event_id = str(uuid.uuid4())
        published_ms[event_id] = time.time() * 1000
        data = {"customerId": people[i % customers], "orderId": f"ord_{i}"}
        # t1 is in the SMS pilot, so SMS is sent too
        publish_event(client, bus, "OrderConfirmed", tenant_id="t1", data=data, event_id=event_id)

    started = time.time() * 1000
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(publish, range(events)))
    deadline = time.monotonic() + 180
    results: dict[str, Any] = {"events": events, "customers": customers, "channels": {}}
    pending = set(CHANNELS)
    delivered: dict[str, list[dict[str, Any]]] = {}
    while pending and time.monotonic() < deadline:
        for channel in list(pending):
            delivered[channel] = _delivered(urls, channel, set(people))
            if len(delivered[channel]) >= events:
                pending.discard(channel)
        time.sleep(0.5)
    for channel in CHANNELS:
        messages = delivered.get(channel, [])
        latencies = [m["receivedAtMs"] - published_ms[m["key"].split(":")[0]] for m in messages]
        last = max((m["receivedAtMs"] for m in messages), default=started)
        results["channels"][channel] = {
            "delivered": len(messages),
            "messagesPerSecond": round(len(messages) / max(0.001, (last - started) / 1000), 1),
            "latencyMsP50": round(_percentile(latencies, 50), 1),
            "latencyMsP99": round(_percentile(latencies, 99), 1),
        }

    # DLQ redrive: valid messages put straight into the email DLQ, then moved back.
    sqs = local_client("sqs", endpoint_url)
    dlq = sqs.get_queue_url(QueueName="marquee-notify-email-dlq.fifo")["QueueUrl"]
    for i in range(dlq_messages):
        event_id = str(uuid.uuid4())
        body = {
            "eventId": event_id,
            "eventType": "OrderConfirmed",
            "tenantId": "t1",
            "customerId": f"bench-dlq-{run}-{i % 10}",
            "channel": "email",
            "subject": "s",
            "body": "b",
            "transactional": True,
            "occurredAt": datetime.now(UTC).isoformat(),
        }
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps(body),
            MessageGroupId=f"t1#{body['customerId']}",
            MessageDeduplicationId=event_id,
        )
    redrive = Dlqs(endpoint_url, client=sqs).redrive("email")
    results["redrive"] = {k: redrive.get(k) for k in ("mode", "moved", "failed", "seconds", "perSecond")}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="http://localhost:4566")
    parser.add_argument("--outputs", type=Path, default=Path(".localcloud/outputs.json"))
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--dlq", type=int, default=100)
    args = parser.parse_args()
    outputs = json.loads(args.outputs.read_text())["Marquee"]
    figures = notification_figures(args.endpoint, outputs, events=args.events, dlq_messages=args.dlq)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
