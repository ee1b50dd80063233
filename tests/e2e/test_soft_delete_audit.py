"""Soft delete and temporal audit (challenge 8) after a real deploy: a showtime and a movie deleted and restored through
the API disappear from and come back to the listing (read model), the seat map and search; staff read the movie's
history and its state at a past time; the tenant's legal hold removes the versions' TTL; a customer's erasure leaves
their profile values nowhere the API shows."""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests

from tests.e2e.booking_helpers import create_showtime, token
from tests.waiting import wait_for

RUN = uuid.uuid4().hex[:6]
TENANT = f"audit-{RUN}"
TIMEOUT = 30


def call(api: str, method: str, path: str, tok: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{api}{path}", headers={"Authorization": tok}, timeout=TIMEOUT, **kwargs)


def listed(api: str, tok: str, showtime_id: str) -> bool:
    cursor = None
    while True:
        body = call(api, "GET", "/showtimes", tok, params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert body.status_code == 200, body.text
        if any(i["showtimeId"] == showtime_id for i in body.json()["items"]):
            return True
        cursor = body.json()["nextCursor"]
        if not cursor:
            return False


def found_by_search(api: str, tok: str, title: str, movie_id: str) -> bool:
    response = call(api, "GET", "/search", tok, params={"q": title})
    assert response.status_code == 200, response.text
    return any(h.get("movieId") == movie_id or h.get("id") == movie_id for h in response.json()["items"])


def test_a_deleted_showtime_leaves_the_listing_and_seat_map_and_a_restore_brings_it_back(
    api: str, deployed: dict[str, Any]
) -> None:
    staff = token(deployed, TENANT, "staff1", "staff")
    customer = token(deployed, TENANT, "buyer")
    show = create_showtime(api, deployed, TENANT, rows=1, per_row=4)
    wait_for(lambda: listed(api, customer, show.showtime_id), timeout=TIMEOUT, interval=0.2)

    deleted = call(api, "DELETE", f"/showtimes/{show.showtime_id}", staff)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True, deleted.text
    assert call(api, "DELETE", f"/showtimes/{show.showtime_id}", customer).status_code == 403
    wait_for(lambda: not listed(api, customer, show.showtime_id), timeout=TIMEOUT, interval=0.2)
    wait_for(lambda: call(api, "GET", f"/showtimes/{show.showtime_id}", customer).status_code == 404,
             timeout=TIMEOUT, interval=0.2)  # fmt: skip
    held = call(api, "POST", f"/showtimes/{show.showtime_id}/holds", customer, json={"seats": ["A1"]})
    assert held.status_code == 404, held.text

    restored = call(api, "POST", f"/showtimes/{show.showtime_id}/restore", staff)
    assert restored.status_code == 200 and restored.json()["revision"] == 3, restored.text
    wait_for(lambda: listed(api, customer, show.showtime_id), timeout=TIMEOUT, interval=0.2)
    history = call(api, "GET", f"/showtimes/{show.showtime_id}/history", staff)
    assert [v["change"] for v in history.json()["items"]] == ["restored", "deleted", "created"]


def test_staff_read_a_deleted_movie_as_it_was_and_search_hides_it_until_restored(
    api: str, deployed: dict[str, Any]
) -> None:
    staff = token(deployed, TENANT, "staff1", "staff")
    customer = token(deployed, TENANT, "buyer")
    title = f"Vanishing {RUN}"
    created = call(api, "POST", "/movies", staff, json={"title": title, "runtimeMinutes": 95})
    assert created.status_code == 201, created.text
    movie_id = created.json()["movieId"]
    time.sleep(0.01)
    renamed = call(api, "PUT", f"/movies/{movie_id}", staff, json={"title": f"{title} Redux", "runtimeMinutes": 99})
    assert renamed.status_code == 200, renamed.text
    wait_for(lambda: found_by_search(api, customer, title, movie_id), timeout=TIMEOUT, interval=0.3)

    assert call(api, "DELETE", f"/movies/{movie_id}", staff).status_code == 200
    assert call(api, "GET", f"/movies/{movie_id}", customer).status_code == 404
    wait_for(lambda: not found_by_search(api, customer, title, movie_id), timeout=TIMEOUT, interval=0.3)

    history = call(api, "GET", f"/movies/{movie_id}/history", staff, params={"limit": 2})
    assert history.status_code == 200, history.text
    page = history.json()
    assert [v["change"] for v in page["items"]] == ["deleted", "updated"] and page["nextCursor"]
    assert page["items"][1]["fields"] == ["runtimeMinutes", "title"]
    assert str(page["items"][1]["username"]).endswith("staff1")  # the tenant-scoped login name
    rest = call(api, "GET", f"/movies/{movie_id}/history", staff, params={"limit": 2, "cursor": page["nextCursor"]})
    created_at = rest.json()["items"][0]["at"]
    then = call(api, "GET", f"/movies/{movie_id}", staff, params={"asOf": created_at})
    assert then.status_code == 200, then.text
    assert (then.json()["title"], then.json()["runtimeMinutes"], then.json()["deleted"]) == (title, 95, False)
    assert call(api, "GET", f"/movies/{movie_id}", customer, params={"asOf": created_at}).status_code == 403

    assert call(api, "POST", f"/movies/{movie_id}/restore", staff).json()["revision"] == 4
    assert call(api, "GET", f"/movies/{movie_id}", customer).json()["title"] == f"{title} Redux"
    wait_for(lambda: found_by_search(api, customer, title, movie_id), timeout=TIMEOUT, interval=0.3)


def test_legal_hold_removes_every_version_ttl_and_blocks_erasure_then_erasure_removes_the_profile(
    api: str, deployed: dict[str, Any]
) -> None:
    tenant = f"hold-{RUN}"
    staff = token(deployed, tenant, "staff1", "staff")
    customer = token(deployed, tenant, "pat")
    movie = call(api, "POST", "/movies", staff, json={"title": "Held", "runtimeMinutes": 90}).json()["movieId"]
    profile = call(api, "PUT", "/me/profile", customer, json={"displayName": "Pat Q", "email": "pat.q@example.com"})
    assert profile.status_code == 200, profile.text
    customer_id = profile.json()["customerId"]
    first = call(api, "GET", f"/movies/{movie}/history", staff).json()["items"][0]
    assert first["expiresAt"] is not None

    held = call(api, "PUT", "/settings/audit", staff, json={"retentionDays": 30, "legalHold": True})
    assert held.status_code == 200 and held.json()["versionsSwept"] == 2, held.text
    assert call(api, "GET", f"/movies/{movie}/history", staff).json()["items"][0]["expiresAt"] is None
    assert call(api, "POST", f"/customers/{customer_id}/erasure", staff).status_code == 409

    lifted = call(api, "PUT", "/settings/audit", staff, json={"retentionDays": 30, "legalHold": False})
    assert lifted.status_code == 200, lifted.text
    erased = call(api, "POST", f"/customers/{customer_id}/erasure", staff)
    assert erased.status_code == 200 and erased.json()["versionsErased"] == 1, erased.text
    assert call(api, "GET", "/me/profile", customer).status_code == 404
