"""`marquee projections`: the CQRS read models of a deployed stack, through the Data API (as any client would).

- ``status``: each read model's generations, the event log's size and the lag from an event's commit to its projection
  (p50, p99, max over the last events);
- ``rebuild``: ``marquee.projections.rebuild`` (a new generation replayed beside the live one, compared, swapped in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devkit.layer import use_layer
from localcloud.aws import local_client

use_layer()  # the layer's `marquee` is not installed in the CLI's environment

from marquee.projections import store  # noqa: E402
from marquee.relational.client import DataApi  # noqa: E402

LAG_WINDOW = 1000  # the last events the lag is computed over


def data_api(endpoint_url: str, outputs: dict[str, str]) -> DataApi:
    return DataApi(
        cluster_arn=outputs["DbClusterArn"],
        secret_arn=outputs["DbSecretArn"],
        database=outputs["DbName"],
        client=local_client("rds-data", endpoint_url),
    )


@dataclass(frozen=True)
class Lag:
    events: int
    p50_ms: float
    p99_ms: float
    max_ms: float


LAG = """SELECT count(*) AS n,
        coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), 0) AS p50,
        coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), 0) AS p99,
        coalesce(max(ms), 0) AS top
    FROM (SELECT extract(epoch FROM projected_at - occurred_at) * 1000 AS ms
          FROM projection_events WHERE occurred_at >= :since AT TIME ZONE 'UTC' ORDER BY seq DESC LIMIT :n) recent"""


def lag(api: DataApi, *, window: int = LAG_WINDOW, since: Any = None) -> Lag:
    """Commit-to-projection lag of the last ``window`` events (occurredAt is stamped just before the write commits)."""
    from datetime import UTC, datetime

    row = api.query(LAG, {"n": window, "since": since or datetime(1970, 1, 1, tzinfo=UTC)})[0]
    return Lag(int(row["n"]), float(row["p50"]), float(row["p99"]), float(row["top"]))


def status(api: DataApi) -> dict[str, Any]:
    logged = api.query("SELECT count(*) AS n, max(seq) AS last FROM projection_events")[0]
    recent = lag(api)
    return {
        "generations": [vars(g) for g in store.generations(api)],
        "eventsLogged": int(logged["n"]),
        "lagMs": {"events": recent.events, "p50": recent.p50_ms, "p99": recent.p99_ms, "max": recent.max_ms},
    }
