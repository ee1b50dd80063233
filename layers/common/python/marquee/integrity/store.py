"""Reconciler reports in the ops table (platform state that belongs to no tenant): ``pk = INTEGRITY``,
``sk = RUN#{startedAt}#{runId}``, the report as JSON (drift items capped), the drift count, a 30-day TTL."""

from __future__ import annotations

import json

from marquee.dynamo.store import TableStore
from marquee.integrity.models import IntegrityReport

REPORT_PK = "INTEGRITY"
REPORT_TTL_SECONDS = 30 * 24 * 3600
MAX_STORED_ITEMS = 200  # drift and repair items kept in one report item (the counts are always complete)


class ReportStore(TableStore):
    def save(self, report: IntegrityReport, *, now_s: int) -> None:
        stored = report.model_copy(
            update={"drift": report.drift[:MAX_STORED_ITEMS], "repairs": report.repairs[:MAX_STORED_ITEMS]}
        )
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": REPORT_PK},
                "sk": {"S": f"RUN#{report.started_at}#{report.run_id}"},
                "report": {"S": stored.model_dump_json(by_alias=True)},
                "drift_count": {"N": str(report.drift_count)},
                "counts": {"S": json.dumps(report.counts(), sort_keys=True)},
                "expires_at": {"N": str(now_s + REPORT_TTL_SECONDS)},
            },
        )

    def latest(self, limit: int = 1) -> list[IntegrityReport]:
        items = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :run)",
            ExpressionAttributeValues={":pk": {"S": REPORT_PK}, ":run": {"S": "RUN#"}},
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )["Items"]
        return [IntegrityReport.model_validate_json(item["report"]["S"]) for item in items]
