"""Personal data: its classification in the models, and its masking wherever it leaves the place it is kept for.

A personal field is classified where it is declared, with the ``x-personal`` JSON Schema keyword that names its kind::

    email: Annotated[str, personal(PersonalKind.EMAIL)]

so that the published contracts (docs/openapi.json, docs/events/) say which fields carry personal data, and code can
ask a model for them (``personal_fields``). Two consumers act on the classification:

- logs (``marquee.core.logs``): every value under a personal key is erased, and any e-mail address in any string;
- events that leave the tenant boundary (webhook payloads): ``mask_event_data`` erases the event model's personal
  fields before the body is stored, signed and sent.

Both mask with Powertools data masking (``DataMasking.erase``, no KMS provider: the value is replaced, irreversibly).
``PERSONAL_KEYS`` is the one list of wire and Python names the log masking matches; a unit test checks that every field
classified in any model is in it, so a newly classified field cannot be forgotten by the logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_masking import DataMasking
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

PERSONAL_KEYWORD = "x-personal"
MASK = "*****"  # what DataMasking.erase leaves (DATA_MASKING_STRING)
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"


class PersonalKind(StrEnum):
    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"
    CARD_LAST4 = "card-last4"
    CARD_NUMBER = "card-number"
    IP_ADDRESS = "ip-address"
    USER_AGENT = "user-agent"


def personal(kind: PersonalKind) -> Any:
    """The marker of a personal field: use it inside ``Annotated`` (or merge it into a field's ``Field``)."""
    return Field(json_schema_extra={PERSONAL_KEYWORD: kind.value})


# Every key under which a personal value may be logged: the classified fields' names (snake_case and camelCase) and the
# names the platform's own records use. tests/unit/test_personal_data.py keeps it complete against the models.
PERSONAL_KEYS: frozenset[str] = frozenset(
    {
        "display_name", "displayName",
        "email", "contact_email", "contactEmail", "security_contact", "securityContact",
        "phone",
        "card_last4", "cardLast4", "card", "card_number", "cardNumber",
        "source_ip", "sourceIp", "ip",
        "user_agent", "userAgent",
    }
)  # fmt: skip


def kind_of(field: FieldInfo) -> PersonalKind | None:
    extra = field.json_schema_extra
    kind = extra.get(PERSONAL_KEYWORD) if isinstance(extra, Mapping) else None
    return PersonalKind(kind) if isinstance(kind, str) else None


@cache
def personal_fields(model: type[BaseModel]) -> dict[str, PersonalKind]:
    """The model's personal fields by wire name (alias, else name) with their kind; nested models are not followed."""
    found: dict[str, PersonalKind] = {}
    for name, field in model.model_fields.items():
        kind = kind_of(field)
        if kind is not None:
            found[field.alias or name] = kind
    return found


@cache
def masker() -> DataMasking:
    return DataMasking(raise_on_missing_field=False)


def mask_event_data(data: dict[str, Any], model: type[BaseModel] | None) -> dict[str, Any]:
    """``data`` (an event's ``data``) with the model's personal fields erased; unchanged if it has none."""
    fields = [f"$.{name}" for name in personal_fields(model) if name in data] if model is not None else []
    if not fields:
        return data
    masked: dict[str, Any] = masker().erase(data, fields=fields)
    return masked


_EMAIL = re.compile(EMAIL_PATTERN)


def mask_text(text: str) -> str:
    """``text`` with every e-mail address erased (free text: a message, an error, a URL); a JSON object in a string
    (a logged request or queue body) is masked as a record too."""
    if text.startswith("{") and text.endswith("}"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return json.dumps(mask_record(parsed), separators=(",", ":"))
    if "@" not in text or not _EMAIL.search(text):
        return text
    masked: str = masker().erase(text, regex_pattern=EMAIL_PATTERN, mask_format=MASK)
    return masked


def mask_record(value: Any, *, keys: frozenset[str] = PERSONAL_KEYS) -> Any:
    """A copy of ``value`` (a log record, any JSON-like shape) with the values under personal keys erased and e-mail
    addresses erased from every string. Walks the structure once; only personal values go through DataMasking."""
    if isinstance(value, Mapping):
        return {
            k: (masker().erase(v) if k in keys and v not in (None, "") else mask_record(v, keys=keys))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_record(v, keys=keys) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(str(value))  # what the JSON serializer would write (Powertools' json_default is str)
