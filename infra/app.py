"""CDK entry point: ``python -m infra.app`` (see cdk.json).

Context ``marquee:target`` is ``aws`` (default: layer wheels for Lambda) or ``local`` (layer built for the host
interpreter, X-Ray disabled) for the Docker-free local cloud. The template is otherwise the same.
"""

from __future__ import annotations

from aws_cdk import App, Stack

from infra import constants
from infra.nag import apply_checks
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
    stack = MarqueeStack(
        app,
        constants.STACK_ID,
        target=resolve_target(app),
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
