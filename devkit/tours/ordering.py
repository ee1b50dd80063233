"""Tour scenario of design question 4 (ordering and duplicates): one movie's three revisions published to the bus out
of order and three times each; the search documents (the projector's read model) keep the newest revision, so the
older ones that arrive after it change nothing, and the duplicates are absorbed by the event log."""

from __future__ import annotations

import random
import time
import uuid

from devkit.layer import use_layer
from devkit.tour import Tour, expect, scenario
from localcloud.aws import local_client

use_layer()  # the layer's `marquee` is not installed in the CLI's environment

from marquee.booking.catalog import MovieChanged  # noqa: E402
from marquee.messaging.events import envelope  # noqa: E402

TENANT = "tour-ordering"


@scenario("ordering: a movie's 3 revisions published newest first and 3 times each; the read model keeps the newest")
def _ordering(tour: Tour) -> list[str]:
    movie_id = f"mov_{uuid.uuid4().hex[:16]}"
    word = f"Quokkaorder{uuid.uuid4().hex[:6]}"
    revisions = {n: f"{word} revision {n}" for n in (1, 2, 3)}
    events = [
        envelope(
            MovieChanged(movie_id=movie_id, revision=n, title=title, runtime_minutes=100 + n),
            tenant_id=TENANT,
            correlation_id="tour-ordering",
        )
        for n, title in revisions.items()
    ]
    deliveries = [events[2], events[0], events[1]] + random.sample(events * 2, 6)  # the newest first, then shuffled
    bus_client = local_client("events", tour.endpoint_url)
    bus = next(b["Name"] for b in bus_client.list_event_buses()["EventBuses"] if b["Name"] != "default")
    for event in deliveries:
        entry = {"EventBusName": bus, "Source": "marquee.booking", "DetailType": event.type, "Detail": event.to_json()}
        bus_client.put_events(Entries=[entry])
    customer = tour.token(TENANT, "reader")
    started = time.perf_counter()
    titles: list[str] = []
    while time.perf_counter() - started < 60:
        response = tour.call("GET", "/search", token=customer, params={"q": word.lower(), "kind": "movie"})
        expect(response.status_code == 200, f"GET /search gave {response.status_code}: {response.text}")
        titles = [hit["title"] for hit in response.json()["items"] if hit["id"] == movie_id]
        if titles:
            break
        time.sleep(0.3)
    seen = time.perf_counter() - started
    time.sleep(2)  # every copy has been projected by now: an older revision must not have overwritten the newest
    final = tour.call("GET", "/search", token=customer, params={"q": word.lower(), "kind": "movie"}).json()["items"]
    titles_after = [hit["title"] for hit in final if hit["id"] == movie_id]
    expect(titles == [revisions[3]], f"first seen as {titles}, not revision 3")
    expect(titles_after == [revisions[3]], f"after every copy: {titles_after}, not revision 3")
    order = ", ".join(f"r{int(e.data['revision'])}" for e in deliveries)
    return [
        f"published {len(deliveries)} times in this order: {order}",
        f"searchable after {seen * 1000:.0f} ms as {titles[0]!r}; 2 s later still {titles_after[0]!r}",
        "older revisions that arrived after the newest changed nothing; the duplicates were absorbed",
    ]
