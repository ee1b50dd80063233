"""Tour scenario of expand and contract (design question 2, docs/design/02-zero-downtime-deploys.md): a hold item's
seats change shape (a list of ``{seatId, fence}`` becomes a ``seat_fences`` map) while the stack serves holds.

The deployed stack runs the ``migrate`` phase (it writes the new map and reads both). Holds in the old shape are made
here by the expand-phase code, as the previous version left them; the deployed API still serves them; the backfill
(``marquee migrate-items holds``) rewrites them with its counts, a second run finds nothing, and the contract check
(``--verify``) finds no old hold, so contract-phase code reads every one of them."""

from __future__ import annotations

import base64
import json
import time

from devkit.layer import use_layer
from devkit.migrate_items import count_old_holds, migrate_holds
from devkit.seed import BookingApi
from devkit.tour import Tour, expect, scenario
from localcloud.aws import local_client

use_layer()

from marquee.booking import hold_shape, seats  # noqa: E402
from marquee.tenancy.tenant import TenantContext  # noqa: E402

TENANT = "tour-shape"


def _sub(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


@scenario(
    "expand and contract: old-shape holds served, backfilled with counts while the API writes, then contract-safe"
)
def _expand_contract(tour: Tour) -> list[str]:
    api = BookingApi(tour.endpoint_url, tour.outputs, session=tour.session)
    showtime = api.showtime(TENANT, rows=2, per_row=6)
    showtime_id = str(showtime["showtimeId"])
    token = api.token(TENANT, "sasha")
    customer = TenantContext(tenant_id=TENANT, user_id=_sub(token))
    table = tour.outputs["TableName"]
    ddb = local_client("dynamodb", tour.endpoint_url)

    # The previous version (expand) left holds with the old seats list.
    hold_shape.use_phase(hold_shape.ShapePhase.EXPAND)
    try:
        old = [
            seats.create_hold(
                customer, showtime_id=showtime_id, seat_ids=[f"A{n}", f"A{n + 1}"], lease_seconds=600,
                table_name=table, client=ddb,
            )
            for n in (1, 3, 5)
        ]  # fmt: skip
    finally:
        hold_shape.use_phase(hold_shape.DEFAULT_PHASE)
    left_before = count_old_holds(tour.endpoint_url, tour.outputs)
    expect(left_before >= len(old), f"only {left_before} old-shape holds found")

    # The deployed (migrate) version serves them, and writes the new shape itself.
    for hold in old:
        got = api.call("GET", f"/holds/{hold.hold_id}", token=token)
        expect(got.status_code == 200, f"GET /holds/{hold.hold_id}: {got.status_code} {got.text}")
        expect([s["seatId"] for s in got.json()["seats"]] == [s.seat_id for s in hold.seats], f"seats {got.text}")
    made = api.call("POST", f"/showtimes/{showtime_id}/holds", token=token, json={"seats": ["B1", "B2"]})
    expect(made.status_code == 201, f"POST hold: {made.status_code} {made.text}")
    new_item = ddb.get_item(TableName=table, Key=seats.hold_key(customer, made.json()["holdId"]), ConsistentRead=True)
    expect(hold_shape.NEW_ATTRIBUTE in new_item["Item"], "the deployed version did not write the new shape")

    started = time.perf_counter()
    report = migrate_holds(tour.endpoint_url, tour.outputs, rate=200, page_size=50)
    seconds = time.perf_counter() - started
    expect(report.complete and report.migrated >= len(old), f"backfill {report}")
    again = migrate_holds(tour.endpoint_url, tour.outputs, rate=200, page_size=50)
    expect(again.migrated == 0, f"a second run migrated {again.migrated}")
    left_after = count_old_holds(tour.endpoint_url, tour.outputs)
    expect(left_after == 0, f"{left_after} old-shape holds left")

    hold_shape.use_phase(hold_shape.ShapePhase.CONTRACT)
    try:
        for hold in old:
            read = seats.get_hold(customer, hold.hold_id, table_name=table, client=ddb)
            expect(read.seats == hold.seats, f"contract read {read.seats} != {hold.seats}")
    finally:
        hold_shape.use_phase(hold_shape.DEFAULT_PHASE)
    return [
        f"{len(old)} holds in the old shape (expand), served by the deployed migrate version: GET /holds 200 each",
        f"POST /holds by the deployed version wrote the new shape ({hold_shape.NEW_ATTRIBUTE})",
        f"backfill: {report.migrated} migrated of {report.matched} old, {report.already} already new, "
        f"{report.gone} gone, {report.pages} page(s) in {seconds:.2f} s; a second run migrated {again.migrated}",
        f"contract check: {left_before} old-shape holds before, {left_after} after; contract-phase reads all "
        f"{len(old)}",
    ]
