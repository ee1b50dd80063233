"""AWS::Scheduler::Schedule, ::ScheduleGroup and AWS::Pipes::Pipe, created in moto's scheduler and pipes backends.

These are records only: moto stores schedules and pipes but runs neither. Running them (a schedule invoking its
target, a pipe polling its source) is the job of the local cloud's router and pollers, which read them from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moto.pipes.models import pipes_backends
from moto.scheduler.exceptions import ScheduleNotFound
from moto.scheduler.models import scheduler_backends

from .base import Context, FillIn, require, tags_to_dict, tags_to_list


def _epoch(value: Any) -> Any:
    """CloudFormation dates are ISO 8601 strings; moto's scheduler keeps epoch seconds."""
    if value is None or isinstance(value, (int, float)):
        return value
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())


class ScheduleGroup(FillIn):
    CFN_TYPE = "AWS::Scheduler::ScheduleGroup"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = frozenset({"Arn", "CreationDate", "LastModificationDate", "State"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> ScheduleGroup:
        name = props.get("Name") or ctx.resource_name[:64]
        group = scheduler_backends[ctx.account_id][ctx.region_name].create_schedule_group(
            name, tags_to_list(props.get("Tags"))
        )
        return cls(
            ctx,
            name,
            {
                "Arn": group.arn,
                "CreationDate": group.created_on,
                "LastModificationDate": group.last_modified,
                "State": "ACTIVE",
            },
        )

    def remove(self) -> None:
        backend = scheduler_backends[self.ctx.account_id][self.ctx.region_name]
        backend.schedule_groups.pop(self.physical_resource_id, None)


class Schedule(FillIn):
    CFN_TYPE = "AWS::Scheduler::Schedule"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = frozenset({"Arn"})

    def __init__(self, ctx: Context, name: str, group_name: str, arn: str) -> None:
        super().__init__(ctx, name, {"Arn": arn})
        self.group_name = group_name

    @staticmethod
    def _args(props: dict[str, Any]) -> dict[str, Any]:
        return {
            "description": props.get("Description"),
            "end_date": _epoch(props.get("EndDate")),
            "flexible_time_window": require(props, "FlexibleTimeWindow", Schedule.CFN_TYPE),
            "kms_key_arn": props.get("KmsKeyArn"),
            "schedule_expression": require(props, "ScheduleExpression", Schedule.CFN_TYPE),
            "schedule_expression_timezone": props.get("ScheduleExpressionTimezone"),
            "start_date": _epoch(props.get("StartDate")),
            "state": props.get("State") or "ENABLED",
            "target": dict(require(props, "Target", Schedule.CFN_TYPE)),
        }

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Schedule:
        backend = scheduler_backends[ctx.account_id][ctx.region_name]
        group_name = props.get("GroupName") or "default"
        backend.get_schedule_group(group_name)  # ResourceNotFound for a missing group, instead of a KeyError
        schedule = backend.create_schedule(
            name=props.get("Name") or ctx.resource_name[:64],
            group_name=group_name,
            action_after_completion=None,
            **cls._args(props),
        )
        return cls(ctx, schedule.name, group_name, schedule.arn)

    def remove(self) -> None:
        backend = scheduler_backends[self.ctx.account_id][self.ctx.region_name]
        group = backend.schedule_groups.get(self.group_name)
        if group is not None:
            try:
                group.delete_schedule(self.physical_resource_id)
            except ScheduleNotFound:
                return

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        if (props.get("Name") or self.physical_resource_id) != self.physical_resource_id or (
            (props.get("GroupName") or "default") != self.group_name
        ):
            return super().update(props, new_resource_name)
        scheduler_backends[self.ctx.account_id][self.ctx.region_name].update_schedule(
            name=self.physical_resource_id, group_name=self.group_name, **self._args(props)
        )
        return self


class Pipe(FillIn):
    CFN_TYPE = "AWS::Pipes::Pipe"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = frozenset({"Arn", "CreationTime", "CurrentState", "LastModifiedTime", "StateReason"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Pipe:
        pipe = pipes_backends[ctx.account_id][ctx.region_name].create_pipe(
            name=props.get("Name") or ctx.resource_name[:64],
            description=props.get("Description"),
            desired_state=props.get("DesiredState"),
            source=require(props, "Source", cls.CFN_TYPE),
            source_parameters=props.get("SourceParameters"),
            enrichment=props.get("Enrichment"),
            enrichment_parameters=props.get("EnrichmentParameters"),
            target=require(props, "Target", cls.CFN_TYPE),
            target_parameters=props.get("TargetParameters"),
            role_arn=require(props, "RoleArn", cls.CFN_TYPE),
            tags=tags_to_dict(props.get("Tags")),
            log_configuration=props.get("LogConfiguration"),
            kms_key_identifier=props.get("KmsKeyIdentifier"),
        )
        return cls(
            ctx,
            pipe.name,
            {
                "Arn": pipe.arn,
                "CreationTime": pipe.creation_time.isoformat(),
                "CurrentState": pipe.desired_state,
                "LastModifiedTime": pipe.last_modified_time.isoformat(),
                "StateReason": "",
            },
        )

    def remove(self) -> None:
        pipes_backends[self.ctx.account_id][self.ctx.region_name].pipes.pop(self.physical_resource_id, None)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """Source and Name are immutable (replacement); everything else is UpdatePipe."""
        backend = pipes_backends[self.ctx.account_id][self.ctx.region_name]
        pipe = backend.pipes.get(self.physical_resource_id)
        if (
            pipe is None
            or props.get("Source") != pipe.source
            or ((props.get("Name") or self.physical_resource_id) != self.physical_resource_id)
        ):
            return super().update(props, new_resource_name)
        backend.update_pipe(
            name=self.physical_resource_id,
            role_arn=require(props, "RoleArn", self.CFN_TYPE),
            description=props.get("Description"),
            desired_state=props.get("DesiredState"),
            source_parameters=props.get("SourceParameters"),
            enrichment=props.get("Enrichment"),
            enrichment_parameters=props.get("EnrichmentParameters"),
            target=props.get("Target"),
            target_parameters=props.get("TargetParameters"),
            log_configuration=props.get("LogConfiguration"),
            kms_key_identifier=props.get("KmsKeyIdentifier"),
        )
        return self
