"""AWS::CloudWatch::Alarm, created with moto's PutMetricAlarm."""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends

from .base import Context, FillIn, as_bool, as_int, tags_to_list


def _backend(ctx: Context) -> Any:
    return cloudwatch_backends[ctx.account_id][ctx.region_name]


def _metric_data_queries(metrics: list[Any] | None) -> list[MetricDataQuery] | None:
    """The same conversion moto's PutMetricAlarm handler does for the Metrics parameter."""
    if not metrics:
        return None
    queries = []
    for metric in metrics:
        stat: Any = metric.get("MetricStat") or {}
        stat_metric: Any = stat.get("Metric") or {}
        metric_stat = None
        if stat_metric.get("MetricName"):
            metric_stat = MetricStat(
                metric=Metric(
                    metric_name=stat_metric["MetricName"],
                    namespace=stat_metric.get("Namespace"),
                    dimensions=[Dimension(d.get("Name"), d.get("Value")) for d in stat_metric.get("Dimensions") or []],
                ),
                period=stat.get("Period"),
                stat=stat.get("Stat"),
                unit=stat.get("Unit"),
            )
        queries.append(
            MetricDataQuery(
                query_id=metric.get("Id"),
                label=metric.get("Label"),
                period=metric.get("Period"),
                return_data=metric.get("ReturnData"),
                expression=metric.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries


class Alarm(FillIn):
    CFN_TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = frozenset({"Arn"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Alarm:
        name = props.get("AlarmName") or ctx.resource_name
        alarm = cls._put(ctx, name, props)
        return cls(ctx, name, {"Arn": alarm.alarm_arn})

    @staticmethod
    def _put(ctx: Context, name: str, props: dict[str, Any]) -> Any:
        threshold = props.get("Threshold")
        return _backend(ctx).put_metric_alarm(
            name=name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            metric_data_queries=_metric_data_queries(props.get("Metrics")),
            comparison_operator=props.get("ComparisonOperator"),
            evaluation_periods=as_int(props.get("EvaluationPeriods")),
            datapoints_to_alarm=as_int(props.get("DatapointsToAlarm")),
            period=as_int(props.get("Period")),
            threshold=None if threshold is None else float(threshold),
            statistic=props.get("Statistic"),
            extended_statistic=props.get("ExtendedStatistic"),
            description=props.get("AlarmDescription"),
            dimensions=props.get("Dimensions") or [],
            alarm_actions=props.get("AlarmActions") or [],
            ok_actions=props.get("OKActions") or [],
            insufficient_data_actions=props.get("InsufficientDataActions") or [],
            unit=props.get("Unit"),
            actions_enabled=as_bool(props.get("ActionsEnabled"), default=True),
            treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"),
            tags=tags_to_list(props.get("Tags")),
        )

    def remove(self) -> None:
        _backend(self.ctx).delete_alarms([self.physical_resource_id])

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """PutMetricAlarm overwrites an alarm of the same name; a new AlarmName replaces it."""
        if props.get("AlarmName") and props["AlarmName"] != self.physical_resource_id:
            return super().update(props, new_resource_name)
        self._put(self.ctx, self.physical_resource_id, props)
        return self
