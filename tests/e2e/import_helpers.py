"""Imports (challenge 15) helpers shared by the e2e tests: a stalled publish, made behind the API's back."""

from __future__ import annotations

from typing import Any


def stall(sdk: Any, deployed: dict[str, Any], tenant: str, import_id: str) -> None:
    """Make a validated dry run a publish that stalled before its first batch: not a dry run, PUBLISHING, its cursor
    after the CSV header, no invocation running it (as one left when its invocations all ended without handing on)."""
    sdk("dynamodb").update_item(
        TableName=deployed["outputs"]["TableName"],
        Key={"pk": {"S": f"TENANT#{tenant}#IMPORT#{import_id}"}, "sk": {"S": "META"}},
        UpdateExpression="SET dryRun = :no, #status = :publishing, publishedLines = :one, createdRows = :zero, "
        "presentRows = :zero",
        ConditionExpression="#status = :validated",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":no": {"BOOL": False},
            ":publishing": {"S": "PUBLISHING"},
            ":validated": {"S": "VALIDATED"},
            ":one": {"N": "1"},
            ":zero": {"N": "0"},
        },
    )
