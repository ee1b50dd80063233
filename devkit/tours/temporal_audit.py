"""Tour scenario of soft delete and temporal audit (challenge 8): a movie changed, deleted and read as it was."""

from __future__ import annotations

import time
from typing import Any

from devkit.seed import BookingApi
from devkit.tour import Tour, expect, scenario

TENANT = "tour-audit"


@scenario("temporal audit: a movie renamed then soft-deleted; customers get 404, staff read its history and its past")
def _temporal_audit(tour: Tour) -> list[str]:
    api = BookingApi(tour.endpoint_url, tour.outputs, session=tour.session)
    staff = {"Authorization": api.token(TENANT, "stella", "staff")}
    customer = {"Authorization": api.token(TENANT, "carl", "customer")}

    def call(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        return api.session.request(method, f"{api.base}{path}", headers=headers, timeout=60, **kwargs)

    movie = api.post(TENANT, "/movies", {"title": "The First Cut", "runtimeMinutes": 101})["movieId"]
    time.sleep(0.01)
    call("PUT", f"/movies/{movie}", staff, json={"title": "The Final Cut", "runtimeMinutes": 97})
    call("DELETE", f"/movies/{movie}", staff)
    hidden = call("GET", f"/movies/{movie}", customer).status_code
    expect(hidden == 404, f"a customer reads the deleted movie: {hidden}")
    history = call("GET", f"/movies/{movie}/history", staff).json()["items"]
    expect([v["change"] for v in history] == ["deleted", "updated", "created"], f"history {history}")
    created_at = history[-1]["at"]
    started = time.perf_counter()
    then = call("GET", f"/movies/{movie}", staff, params={"asOf": created_at}).json()
    took_ms = (time.perf_counter() - started) * 1000
    expect(then["title"] == "The First Cut" and then["deleted"] is False, f"as of {created_at}: {then}")
    return [
        f"movie {movie}: created, renamed, deleted; GET as a customer -> {hidden}",
        *[
            f"  v{v['revision']} {v['at']} {v['change']:<8} by {v['username']} fields={v['fields']} "
            f"request={v['requestId'][:8]}"
            for v in history
        ],
        f"GET /movies/{movie}?asOf={created_at} (staff) -> '{then['title']}', deleted={then['deleted']}, "
        f"revision {then['revision']} ({took_ms:.0f} ms over HTTP)",
    ]
