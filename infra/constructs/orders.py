"""Orders capability (challenge 11, the saga): POST /orders and GET /orders/{orderId}, the order saga's six step
functions (one code folder, one Lambda and one least-privilege role each) and the Standard state machine, loaded from
``statemachines/order_saga.asl.json`` with the step functions' ARNs substituted."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants, hold_shape
from infra.asl import definition_from_file
from infra.constructs.api import Api
from infra.constructs.bus_target import async_rule_target
from infra.constructs.function import PythonFunction
from infra.constructs.tenant_access import TenantAccess
from infra.nag import Waiver, waive

# What each kind of step does to the main table (TransactWriteItems needs the action of each of its items).
READ_ORDER = ["dynamodb:GetItem"]
WRITE_ORDER = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"]
SEATS = ["dynamodb:BatchGetItem"]


CHARGE_TIMEOUT_S = 35
# A charge attempt can capture until its function times out: RefundPayment trusts "nothing captured" only after that.
CHARGE_SETTLE_SECONDS = CHARGE_TIMEOUT_S + 10


@dataclass(frozen=True)
class SagaStep:
    state: str  # the ASL state, and the ${<state>FunctionArn} placeholder
    handler: str
    description: str
    actions: tuple[str, ...]
    timeout_s: int
    pays: bool = False  # calls marquee.payments (charge or refund)


STEPS = (
    SagaStep("ReserveSeats", "reserve_seats", "Saga: sell the held seats to the order (fencing tokens)",
             (*WRITE_ORDER, *SEATS), 25),
    SagaStep("ChargePayment", "charge_payment", "Saga: charge once (idempotency key order:{orderId})",
             tuple(WRITE_ORDER), CHARGE_TIMEOUT_S, pays=True),
    SagaStep("ConfirmOrder", "confirm_order", "Saga: order CONFIRMED + OrderConfirmed", tuple(WRITE_ORDER), 25),
    SagaStep("RefundPayment", "refund_payment", "Saga compensation: refund if charged (key refund:{orderId})",
             tuple(WRITE_ORDER), 35, pays=True),
    SagaStep("ReleaseSeats", "release_seats", "Saga compensation: give the order's seats back",
             (*WRITE_ORDER, *SEATS), 25),
    SagaStep("MarkFailed", "mark_failed", "Saga compensation: order FAILED with its reason + OrderFailed",
             tuple(WRITE_ORDER), 25),
)  # fmt: skip


class Orders(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        table: dynamodb.ITable,
        payments_environment: Mapping[str, str],
        grant_payments: Callable[[iam.IGrantable], None],
        tenant_access: TenantAccess,
        event_bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)

        self.steps: dict[str, PythonFunction] = {}
        for step in STEPS:
            function = PythonFunction(
                self,
                step.state,
                name=f"order-saga-{step.handler.replace('_', '-')}",
                code="order_saga",
                handler=f"handler.{step.handler}",
                description=step.description,
                layer=layer,
                target=target,
                memory_size=256,
                timeout=Duration.seconds(step.timeout_s),
                environment={
                    "TABLE_NAME": table.table_name,
                    "CHARGE_SETTLE_SECONDS": str(CHARGE_SETTLE_SECONDS),
                    **hold_shape.environment(self),
                    **(payments_environment if step.pays else {}),
                },
            )
            table.grant(function.role, *step.actions)
            if step.pays:
                grant_payments(function.role)
            self.steps[step.state] = function

        state_machine_logs = logs.LogGroup(
            self, "SagaLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=constants.REMOVAL_POLICY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "OrderSaga",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=definition_from_file(
                constants.ORDER_SAGA_ASL,
                {f"{state}FunctionArn": fn.function.function_arn for state, fn in self.steps.items()},
            ),
            logs=sfn.LogOptions(destination=state_machine_logs, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            removal_policy=constants.REMOVAL_POLICY,
        )
        # Exactly the six functions, unqualified (grant_invoke would add "ARN:*" for versions and aliases).
        self.state_machine.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[fn.function.function_arn for fn in self.steps.values()]
            )
        )
        waive(
            self.state_machine.role,
            Waiver(
                "AwsSolutions-IAM5",
                "CloudWatch Logs vended delivery and X-Ray APIs do not support resource-level permissions; CDK "
                "grants them on '*' as AWS documents.",
                finding="Resource::*",
            ),
        )

        self.api_function = PythonFunction(
            self,
            "Api",
            name="orders",
            description="POST /orders (order + OrderPlaced), GET /orders/{orderId}, and OrderPlaced -> the saga",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(15),
            environment={"STATE_MACHINE_ARN": self.state_machine.state_machine_arn, **hold_shape.environment(self)},
        )
        # Tenant-facing: its data access is the tenant-access role's, per request, narrowed to the caller's keys.
        tenant_access.grant_to(self.api_function)
        self.state_machine.grant_start_execution(self.api_function.role)

        api.add_route("POST", "/orders", self.api_function.function)
        api.add_route("GET", "/orders/{orderId}", self.api_function.function)
        # The saga starts from the order's OrderPlaced event (the outbox), not from the request: the same function is
        # the rule's target and starts the execution named after the order (docs/booking-data-model.md#saga).
        self.starter_failures = async_rule_target(
            self,
            function=self.api_function,
            event_bus=event_bus,
            rule_id="OrderPlacedStartsSaga",
            failures_id="SagaStartFailures",
            description="OrderPlaced -> the orders function starts the order's saga (execution name = order id)",
            detail_types=["OrderPlaced"],
        )
