"""The access trail's writer (``handler.write``): access records (SQS, KMS) -> the trail bucket, then the rules.

Each record is stored first (its key is derived from it, so a redelivery rewrites the same object), then the
unusual-access rules run and their alerts go to the notifications pipeline. A failed record is reported alone
(ReportBatchItemFailures) and retried; after the queue's maxReceiveCount it lands in the trail's DLQ.
"""

# No `from __future__ import annotations` here, as in every handler module.
from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.audit.access import AccessRecord
from marquee.audit.rules import AccessState, AlertSender, process
from marquee.audit.trail import TrailBucket
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.messaging import FailureRecorder, RecordingBatchProcessor

from .models import WriterEnv

env = load_env(WriterEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
trail = TrailBucket(env.trail_bucket_name)
state = AccessState(env.audit_table_name)
alerts = AlertSender(env.alert_queue_url)
processor = RecordingBatchProcessor(
    EventType.SQS, FailureRecorder(logger, metrics), raise_on_entire_batch_failure=False
)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    access = AccessRecord.model_validate_json(record.body)
    logger.append_keys(tenant_id=access.tenant_id, access_record_id=access.record_id)
    trail.put(access)
    fired = process(access, state=state, alerts=alerts)
    metrics.add_metric(name="PersonalDataReads", unit=MetricUnit.Count, value=1)
    for alert in fired:
        logger.warning("Unusual access to personal data", extra={"rule": alert.rule.value, "alert_id": alert.alert_id})
        metrics.add_metric(name="UnusualAccessAlerts", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
