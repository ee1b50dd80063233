"""Benchmark: one integrity reconciler run (design question 8) over N settled orders.

In-process on moto with the two in-process simulated providers: N orders, each CONFIRMED with its seat sold and its
payment captured for real through ``marquee.payments.charge`` (so the provider's ledger holds N charges), plus the rest
of a showtime's seats (free, scanned and filtered out on the server). Then ``reconcile`` is timed: the ledger listing,
the filtered Scan, the checks and the report write. Figures only, never an assertion.

    .venv/bin/python -m bench.integrity [--orders 500 1000 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT / "layers" / "common" / "python"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

SEATS_PER_SHOWTIME = 100  # one seat sold per order; the other 99 are free (scanned, filtered out)


def run(orders: int) -> dict[str, float | int]:
    import boto3
    from moto import mock_aws

    from devkit.providers import PaymentProvider
    from marquee.booking import seats
    from marquee.booking.orders import Order, OrderStatus, SeatToken, order_id_for, order_to_item
    from marquee.core import aws
    from marquee.core.money import Money
    from marquee.integrity import ReconcilerDeps, reconcile
    from marquee.integrity.store import ReportStore
    from marquee.payments import ChargeRequest, charge
    from marquee.payments import config as payments_config
    from marquee.payments import provider as provider_client
    from marquee.tenancy.tenant import TenantContext
    from tests.integration.payments.conftest import API_KEYS, SETTINGS, create_tables

    os.environ.update(SETTINGS)
    providers = {
        name: PaymentProvider(name, host="127.0.0.1", port=0, api_keys=lambda key=key: frozenset({key}))
        for name, key in API_KEYS.items()
    }
    for provider in providers.values():
        provider.start()
    payments_config.default_deps.cache_clear()
    provider_client.clear_caches()
    aws.clear_clients()
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb", region_name="us-east-1")
            create_tables(ddb)
            secrets = boto3.client("secretsmanager", region_name="us-east-1")
            for name, provider in providers.items():
                secrets.create_secret(
                    Name=f"marquee/payments/{name}",
                    SecretString=json.dumps({"url": provider.url, "apiKey": API_KEYS[name]}),
                )
            table = SETTINGS["TABLE_NAME"]
            tenant = "bench-cinemas"
            seeder = TenantContext(tenant_id=tenant, user_id="seeder")
            showtime = ""
            seeding = time.perf_counter()
            for n in range(orders):
                if n % SEATS_PER_SHOWTIME == 0:
                    showtime = f"sh_{uuid.uuid4().hex[:8]}"
                    for s in range(SEATS_PER_SHOWTIME):
                        item = seats.seat_item(seeder, showtime, f"S{s}", available=True)
                        ddb.put_item(TableName=table, Item=item)
                seat = f"S{n % SEATS_PER_SHOWTIME}"
                customer = f"cust-{n}"
                order_id = order_id_for(tenant, f"hld_{n}")
                paid = charge(
                    tenant,
                    customer,
                    f"order:{order_id}",
                    ChargeRequest(
                        amount=Money(amount=1100, currency="EUR"), card="4242424242424242", order_id=order_id
                    ),
                )
                order = Order(
                    order_id=order_id,
                    tenant_id=tenant,
                    status=OrderStatus.CONFIRMED,
                    hold_id=f"hld_{n}",
                    customer_id=customer,
                    showtime_id=showtime,
                    seats=[SeatToken(seat_id=seat, fence=1)],
                    amount=Money(amount=1100, currency="EUR"),
                    card="4242424242424242",
                    payment_id=paid.payment_id,
                    created_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                )
                ddb.put_item(TableName=table, Item=order_to_item(order))
                ddb.update_item(
                    TableName=table,
                    Key=seats.seat_key(seeder, showtime, seat),
                    UpdateExpression="SET sold_to = :o",
                    ExpressionAttributeValues={":o": {"S": order_id}},
                )
            seeded_s = time.perf_counter() - seeding
            items = ddb.describe_table(TableName=table)["Table"].get("ItemCount", 0)
            deps = ReconcilerDeps(
                table_name=table,
                client=ddb,
                payments=payments_config.default_deps(),
                reports=ReportStore(SETTINGS["OPS_TABLE_NAME"], client=ddb),
                grace=timedelta(seconds=0),
            )
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                report = reconcile(deps)
                timings.append(time.perf_counter() - started)
            assert report.drift == [], report.counts()  # noqa: S101 - a healthy world must be reported healthy
            return {
                "orders": orders,
                "tableItems": int(items),
                "seedSeconds": round(seeded_s, 1),
                "runMsMin": round(min(timings) * 1000),
                "runMsMedian": round(sorted(timings)[1] * 1000),
                "scanned": report.scanned,  # type: ignore[dict-item]
            }
    finally:
        for provider in providers.values():
            provider.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, nargs="+", default=[500])
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "ERROR",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    for orders in args.orders:
        print(json.dumps(run(orders)))


if __name__ == "__main__":
    main()
