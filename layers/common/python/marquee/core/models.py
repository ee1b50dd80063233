"""The camelCase wire models: snake_case in Python, camelCase on the wire (JSON bodies, events, queue messages).

- ``CamelModel``: immutable, accepts either name on input, ignores unknown fields (pydantic's default). For responses,
  stored views and messages read from systems that may add fields.
- ``CamelRequest``: the same, but an unknown field is refused (and the JSON Schema says ``additionalProperties:
  false``). For request bodies, event data, messages this app owns end to end, and the responses that publish that
  promise: there an unexpected field is a bug or an attack, never something to drop silently.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class CamelRequest(CamelModel):
    model_config = ConfigDict(extra="forbid")
