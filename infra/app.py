"""CDK entry point: ``python -m infra.app`` (see cdk.json).

Context ``marquee:target`` is ``aws`` (default: layer wheels for Lambda) or ``local`` (layer built for the host
interpreter, X-Ray disabled) for the Docker-free local cloud. The template is otherwise the same.

Context ``marquee:regions`` (``us-east-1,eu-west-1``) deploys the stack as one regional cell of a multi-region pair
(design question 1, infra/constants.py); without it the stack is region-agnostic and single-region.
"""

from __future__ import annotations

import os

from aws_cdk import App, Environment, Stack

from infra import constants
from infra.nag import apply_checks
from infra.regions import resolve_regions
from infra.stacks.marquee_stack import MarqueeStack


class UnknownTargetError(ValueError):
    """``-c marquee:target=...`` names no known target."""


def resolve_target(app: App) -> str:
    target = app.node.try_get_context(constants.TARGET_CONTEXT_KEY) or constants.TARGET_AWS
    if target not in constants.TARGETS:
        raise UnknownTargetError(
            f"context {constants.TARGET_CONTEXT_KEY}={target!r}; expected one of {', '.join(constants.TARGETS)}"
        )
    return str(target)


def build(app: App) -> Stack:
    """Add the Marquee stack (with cdk-nag) to ``app``; tests call this with their own ``App``."""
    regions = resolve_regions(app)
    stack = MarqueeStack(
        app,
        constants.STACK_ID,
        target=resolve_target(app),
        regions=regions,
        # A multi-region cell names its region (global tables need a concrete one); single-region stays agnostic.
        env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=regions.this) if regions else None,
        description="Marquee: multi-tenant cinema ticketing reference platform",
        analytics_reporting=False,  # no AWS::CDK::Metadata: the local cloud and cfn-lint see only real resources
    )
    apply_checks(app)
    return stack


def main() -> None:
    app = App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
