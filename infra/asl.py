"""Load state machine definitions from ``statemachines/*.asl.json``.

``DefinitionBody.from_file`` would upload the file as an S3 asset and emit ``DefinitionS3Location``, which moto's
CloudFormation (the local cloud) does not read: it only honours ``DefinitionString``. So the file is read and checked
here at synth time and emitted inline in the template. The ASL still lives only in its file, never in Python code.

``substitutions`` replaces ``${Name}`` placeholders (function ARNs, say) before the JSON is parsed. moto's CloudFormation
ignores ``DefinitionSubstitutions`` too, so they are applied here; a token value (``function.function_arn``) becomes an
``Fn::Join`` in the template, which every CloudFormation resolves. A placeholder left without a value fails the synth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import aws_stepfunctions as sfn


class InvalidDefinitionError(ValueError):
    """An ASL file is not a JSON object with ``StartAt`` and ``States``."""


PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def definition_from_file(path: Path, substitutions: Mapping[str, str] | None = None) -> sfn.DefinitionBody:
    text = path.read_text(encoding="utf-8")
    values = dict(substitutions or {})
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise InvalidDefinitionError(f"{path.name}: no substitution for {', '.join(missing)}")
    text = PLACEHOLDER.sub(lambda match: values[match.group(1)], text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDefinitionError(f"{path.name}: not valid JSON ({exc})") from exc
    if not isinstance(document, Mapping) or "StartAt" not in document or "States" not in document:
        raise InvalidDefinitionError(f"{path.name}: an ASL document needs StartAt and States")
    return sfn.DefinitionBody.from_string(json.dumps(document, separators=(",", ":")))
