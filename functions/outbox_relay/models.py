"""Configuration of the outbox relay, and the outbox item as the stream delivers it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from marquee.core.env import PowertoolsEnv


class RelayEnv(PowertoolsEnv):
    event_bus_name: str = Field(min_length=1)
    event_source: str = Field(min_length=1)


class OutboxRecord(BaseModel):
    """The NewImage of an outbox INSERT (the stream filter lets only those through)."""

    model_config = ConfigDict(frozen=True)

    pk: str
    envelope: str = Field(min_length=2)
    event_type: str = Field(min_length=1)
