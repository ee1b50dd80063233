"""The camelCase wire models: snake_case in Python, camelCase on the wire (JSON bodies, events, queue messages).

- ``CamelModel``: immutable, accepts either name on input, ignores unknown fields (pydantic's default). For responses,
  stored views and messages read from systems that may add fields.
- ``CamelRequest``: the same, but an unknown field is refused (and the JSON Schema says ``additionalProperties:
  false``). For request bodies, event data, messages this app owns end to end, and the responses that publish that
  promise: there an unexpected field is a bug or an attack, never something to drop silently.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_day(value: object) -> object:
    """Only a calendar day as the schema's ``format: date`` says (2026-12-05): pydantic would also take "0" or
    "1733356800" as a Unix timestamp, which the contract does not allow."""
    if isinstance(value, str) and not ISO_DAY.match(value):
        raise ValueError("must be a day as YYYY-MM-DD")
    return value


IsoDay = Annotated[date, BeforeValidator(_iso_day)]


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class CamelRequest(CamelModel):
    model_config = ConfigDict(extra="forbid")
