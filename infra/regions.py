"""Multi-region deploys (design question 1): which regions, which one this synth is for, which one is home.

``-c marquee:regions=us-east-1,eu-west-1``; this synth's region comes from ``-c marquee:region=`` or the CDK CLI's
``CDK_DEFAULT_REGION``. See infra/constants.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from aws_cdk import App

from infra import constants


class RegionsError(ValueError):
    """``-c marquee:regions=...`` is malformed, or this deploy's region is not one of them."""


@dataclass(frozen=True)
class Regions:
    """The regions of a multi-region deploy: ``all[0]`` is the home of the global tables; ``this`` is the synth's."""

    all: tuple[str, ...]
    this: str

    @property
    def home(self) -> str:
        return self.all[0]

    @property
    def is_home(self) -> bool:
        return self.this == self.home


def resolve_regions(app: App) -> Regions | None:
    value = app.node.try_get_context(constants.REGIONS_CONTEXT_KEY)
    if not value:
        return None
    regions = tuple(r.strip() for r in str(value).split(",") if r.strip())
    if len(regions) < 2 or len(set(regions)) != len(regions):
        raise RegionsError(f"context {constants.REGIONS_CONTEXT_KEY}={value!r}: expected two or more distinct regions")
    this = app.node.try_get_context(constants.REGION_CONTEXT_KEY) or os.environ.get("CDK_DEFAULT_REGION")
    if this not in regions:
        raise RegionsError(
            f"this deploy's region ({this!r}, from {constants.REGION_CONTEXT_KEY} or CDK_DEFAULT_REGION) is not one of "
            f"{constants.REGIONS_CONTEXT_KEY}={value!r}"
        )
    return Regions(regions, str(this))
