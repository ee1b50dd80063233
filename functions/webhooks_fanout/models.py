"""Configuration of the webhook fan-out function."""

from __future__ import annotations

from pydantic import Field

from marquee.core.env import PowertoolsEnv


class FanoutEnv(PowertoolsEnv):
    table_name: str = Field(min_length=1)
    delivery_queue_url: str = Field(min_length=1)
