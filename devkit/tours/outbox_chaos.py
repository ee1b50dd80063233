"""Tour scenario of design question 3's consumer drill: the outbox relay SIGKILLed mid-batch again and again while
events are written; every event reaches the audit log exactly once (the stream batch is retried from the failed
record, and the audit consumer's inbox absorbs what a killed batch had already published)."""

from __future__ import annotations

import threading
import time
import uuid

import requests

from devkit.layer import use_layer
from devkit.tour import Tour, expect, scenario
from devkit.tours.integrity import _audit, _function
from localcloud.aws import local_client

use_layer()  # the layer's `marquee` is not installed in the CLI's environment

from marquee.booking.events import HoldReleased  # noqa: E402
from marquee.messaging.events import envelope  # noqa: E402
from marquee.messaging.outbox import outbox_put  # noqa: E402

KILLS = 3


@scenario("outbox chaos: the relay is killed mid-batch 3 times while events are written; each is audited once")
def _relay_killed(tour: Tour) -> list[str]:
    tenant = f"tour-chaos-{uuid.uuid4().hex[:6]}"
    table = tour.outputs["TableName"]
    ddb = local_client("dynamodb", tour.endpoint_url)
    relay = _function(tour, "outbox_relay")
    written: list[str] = []
    stop = threading.Event()

    def writer() -> None:  # about 10 events a second, in transactions of 5 (as a busy producer commits them)
        n = 0
        while not stop.is_set() and n < 600:
            batch = [
                envelope(
                    HoldReleased(hold_id=f"hld_{n + i}", showtime_id="sht_chaos", seats=["A1"], reason="chaos"),
                    tenant_id=tenant,
                    correlation_id="tour-chaos",
                )
                for i in range(5)
            ]
            n += 5
            ddb.transact_write_items(TransactItems=[outbox_put(table, e) for e in batch])
            written.extend(e.id for e in batch)
            time.sleep(0.5)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    kills, deadline = 0, time.monotonic() + 120
    try:
        while kills < KILLS and time.monotonic() < deadline:
            answer = requests.post(f"{tour.endpoint_url}/_localcloud/chaos/kill/{relay}", timeout=10)
            killed = int(answer.json()["killed"])
            kills += killed
            time.sleep(1.5 if killed else 0.01)  # let the retry start before the next kill
    finally:
        stop.set()
        thread.join()
    expect(kills >= KILLS, f"only {kills} kills landed mid-batch")
    started = time.monotonic()
    entries: list[str] = []
    while time.monotonic() - started < 180:
        entries = [e["id"] for e in _audit(tour, tenant)]
        if set(written) <= set(entries):
            break
        time.sleep(1)
    missing = set(written) - set(entries)
    expect(not missing, f"{len(missing)} of {len(written)} events never reached the audit log")
    time.sleep(2)  # redeliveries still in flight land now, or never
    entries = [e["id"] for e in _audit(tour, tenant)]
    doubled = len(entries) - len(set(entries))
    expect(doubled == 0 and set(entries) == set(written), f"{doubled} audit entries doubled")
    return [
        f"{len(written)} events written while the relay was SIGKILLed {kills} times mid-batch",
        f"all {len(written)} in the audit log {time.monotonic() - started:.1f} s after the last kill, each exactly once",
    ]


@scenario("outbox chaos: the holds function is killed mid-request; every committed hold has its event, no other does")
def _producer_killed(tour: Tour) -> list[str]:
    import random

    from devkit.seed import BookingApi
    from marquee.booking.seats import read_seats
    from marquee.tenancy.tenant import TenantContext

    tenant = f"tour-crash-{uuid.uuid4().hex[:6]}"
    api = BookingApi(tour.endpoint_url, tour.outputs, session=tour.session)
    showtime = api.showtime(tenant, rows=3, per_row=10)["showtimeId"]
    token = api.token(tenant, "pat")
    holds_fn = _function(tour, "holds")
    seat_ids = [f"{chr(ord('A') + n // 10)}{n % 10 + 1}" for n in range(30)]
    answers: dict[str, int] = {}

    def customer() -> None:  # one hold per seat, one after another, while the function is killed at random
        session = requests.Session()
        for seat in seat_ids:
            answers[seat] = session.post(
                f"{api.base}/showtimes/{showtime}/holds",
                json={"seats": [seat]},
                headers={"Authorization": token},
                timeout=60,
            ).status_code

    thread = threading.Thread(target=customer, daemon=True)
    thread.start()
    kills, chance = 0, random.Random(13)  # noqa: S311 - kill timing, not a secret
    while thread.is_alive():
        time.sleep(chance.uniform(0.2, 1.5))
        kills += int(
            requests.post(f"{tour.endpoint_url}/_localcloud/chaos/kill/{holds_fn}", timeout=10).json()["killed"]
        )
    thread.join()
    ddb = local_client("dynamodb", tour.endpoint_url)
    found = read_seats(
        TenantContext(tenant_id=tenant, user_id="tour"),
        showtime,
        seat_ids,
        table_name=tour.outputs["TableName"],
        client=ddb,
    )
    committed = {s.holder for s in found.values() if s.holder}
    died_after = [seat for seat, status in answers.items() if status >= 500 and found[seat].holder]
    died_before = [seat for seat, status in answers.items() if status >= 500 and not found[seat].holder]
    started, created = time.monotonic(), set()
    while time.monotonic() - started < 60:
        created = {e["data"]["holdId"] for e in _audit(tour, tenant) if e["type"] == "HoldCreated"}
        if created >= committed:
            break
        time.sleep(0.5)
    time.sleep(2)  # an event without a committed hold would have arrived by now
    created = {e["data"]["holdId"] for e in _audit(tour, tenant) if e["type"] == "HoldCreated"}
    expect(bool(committed) and kills > 0, f"the drill needs committed holds ({len(committed)}) and kills ({kills})")
    expect(created == committed, f"events without a hold: {created - committed}; holds without: {committed - created}")
    return [
        f"{len(answers)} hold requests, {kills} kills of the holds function: {len(committed)} holds committed",
        f"{len(died_before)} requests died before their commit (no hold, no event), {len(died_after)} after it "
        "(a 5xx for a hold that exists: its event was published all the same)",
        f"HoldCreated events in the audit log = committed holds ({len(created)}): none lost, none invented",
    ]
