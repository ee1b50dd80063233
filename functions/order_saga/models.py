"""Configuration and task models of the order saga's step functions (one code folder, one Lambda per step)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from marquee.booking.hold_shape import HoldShapeEnv
from marquee.booking.orders import Step, StepStatus
from marquee.core.env import PowertoolsEnv
from marquee.core.models import CamelModel
from marquee.tenancy.tenant import TenantId


class SagaEnv(PowertoolsEnv, HoldShapeEnv):
    table_name: str = Field(min_length=1)
    # How long a charge attempt can run (the charge function's timeout + a margin): until then, "nothing captured"
    # may only mean "not captured YET", so RefundPayment looks again instead of skipping.
    charge_settle_seconds: int = Field(gt=0, le=900)


class TaskError(BaseModel):
    """What a Catch put at ``$.error``: the error name and its cause (for a Lambda error, the error JSON)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    Error: str
    Cause: str | None = None


class SagaTask(CamelModel):
    """The input of every step: which order, and for MarkFailed the error that sent the saga into compensation."""

    tenant_id: TenantId
    order_id: str = Field(pattern=r"^ord_[0-9a-f]{20}$")
    error: TaskError | None = None


class StepResult(CamelModel):
    step: Step
    status: StepStatus
    detail: str | None = None
    payment_id: str | None = None
