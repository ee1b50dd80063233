"""Configuration of the projector's two functions, and the message group of each projected event."""

from __future__ import annotations

from pydantic import Field

from marquee.core.env import PowertoolsEnv
from marquee.relational.client import RelationalEnv


class RouterEnv(PowertoolsEnv):
    queue_url: str = Field(min_length=1, description="The projections FIFO queue")


class ProjectorEnv(PowertoolsEnv, RelationalEnv):
    """The Data API target: the projector writes read models and reads no DynamoDB table."""

    after_projection_function: str | None = Field(
        default=None,
        min_length=1,
        description="A function invoked asynchronously with each applied event once its transaction has committed "
        "(the cache invalidator: a cached listing is dropped after the read model changed, not before)",
    )
