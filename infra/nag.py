"""cdk-nag (v3) helpers: AwsSolutions checks on every synth; acknowledgements only per construct, always with a reason.

cdk-nag 3 runs as a CDK policy-validation plugin (``Validations.of(app).add_plugins``) and takes acknowledgements
through CDK's native ``Validations.of(construct).acknowledge``. A rule that reports several findings per resource
(IAM5) is acknowledged per finding: ``AwsSolutions-IAM5[Resource::*]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str
    finding: str | None = None  # e.g. "Resource::*" for AwsSolutions-IAM5[Resource::*]

    @property
    def id(self) -> str:
        return f"{self.rule}[{self.finding}]" if self.finding else self.rule


def apply_checks(app: App) -> None:
    """Run the AwsSolutions pack over the whole app on every synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def waive(construct: IConstruct, *waivers: Waiver) -> None:
    """Acknowledge the given findings on ``construct`` (and the resources it contains), each with its reason."""
    Validations.of(construct).acknowledge(*(Acknowledgment(id=w.id, reason=w.reason) for w in waivers))
