"""AWS::CDK::Metadata: a no-op, as on AWS."""

from __future__ import annotations

from typing import Any

from .base import Context, FillIn


class CdkMetadata(FillIn):
    """AWS::CDK::Metadata is CDK's version reporting (analytics). It creates nothing, on AWS or here."""

    CFN_TYPE = "AWS::CDK::Metadata"

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> CdkMetadata:
        return cls(ctx, f"{ctx.stack_id}/{ctx.logical_id}")

    def remove(self) -> None:
        return None

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        return self
