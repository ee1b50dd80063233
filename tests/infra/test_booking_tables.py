"""The booking core's tables (docs/booking-data-model.md): idempotency, ops and inbox, next to the main table."""

from __future__ import annotations

from typing import Any

from infra import constants

from .conftest import of_type

Resources = dict[str, dict[str, Any]]


def _tables(resources: Resources) -> list[dict[str, Any]]:
    return [r["Properties"] for r in of_type(resources, "AWS::DynamoDB::Table").values()]


def _by_keys(resources: Resources, *keys: str) -> list[dict[str, Any]]:
    return [t for t in _tables(resources) if [k["AttributeName"] for k in t["KeySchema"]] == list(keys)]


def test_idempotency_table_is_keyed_on_id_with_powertools_ttl(resources: Resources) -> None:
    (table,) = _by_keys(resources, "id")
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_inbox_table_is_keyed_on_pk_only_and_expires_entries(resources: Resources) -> None:
    (table,) = _by_keys(resources, "pk")
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_ops_table_has_no_stream_and_the_main_table_keeps_its_stream(resources: Resources) -> None:
    # The main table, its shard tables (challenge 9), the ops, control and access-audit tables.
    pk_sk = _by_keys(resources, "pk", "sk")
    assert len(pk_sk) >= 2
    streams = [t.get("StreamSpecification") for t in pk_sk]
    shards = constants.DEFAULT_SHARDS
    assert len(pk_sk) - streams.count(None) == shards, "exactly the main table and the other shards have a stream"
    assert all(t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] for t in _tables(resources))


def test_every_queue_refuses_non_tls_access(resources: Resources) -> None:
    for policy in of_type(resources, "AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert {"Bool": {"aws:SecureTransport": "false"}} in [
            s.get("Condition") for s in statements if s["Effect"] == "Deny"
        ]
