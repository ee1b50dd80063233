"""The Data API's SQL and values: ``:name`` parameters in, typed ``Field`` records and column metadata out.

The rules follow the AWS documentation ("Using the RDS Data API", "Mapping Data API data types", the SqlParameter and
Field reference pages), and what the Data API does on an Aurora PostgreSQL Serverless v2 cluster:
- a ``stringValue`` parameter is sent as ``varchar`` (the Data API binds it as a JDBC string), so a uuid, json,
  timestamp or numeric column needs a ``typeHint``, which casts it; ``longValue`` is a ``bigint``, ``doubleValue`` a
  ``double precision``, ``blobValue`` a ``bytea``, ``isNull`` an untyped NULL; array parameters are refused;
- ``:name`` placeholders are found outside quoted strings, quoted identifiers, comments and ``::`` casts;
- results: integers are ``longValue``, floating point ``doubleValue``, ``numeric`` a ``stringValue`` (or a number
  with ``decimalReturnType=DOUBLE_OR_LONG``), booleans ``booleanValue``, ``bytea`` ``blobValue``, one-dimensional arrays
  ``arrayValue``, NULL ``isNull``, everything else (dates, times, uuid, json) a ``stringValue`` in PostgreSQL's text
  form. ``timestamptz`` comes back as the UTC wall clock without its offset. ``interval``, ``"char"`` and ``xml``
  results, and multidimensional arrays, fail with UnsupportedResultException.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

# --- errors ----------------------------------------------------------------------------------------------------------


class DataApiError(Exception):
    """An error answered in the Data API's shape: ``x-amzn-ErrorType`` and ``{"message"}``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def bad_request(message: str) -> DataApiError:
    return DataApiError("BadRequestException", message)


def unsupported_result(message: str) -> DataApiError:
    return DataApiError("UnsupportedResultException", message)


# --- parameters ------------------------------------------------------------------------------------------------------

TYPE_HINT_CASTS = {
    "DECIMAL": "numeric",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "TIME": "time",
    "JSON": "json",
    "UUID": "uuid",
}


@dataclass
class Statement:
    sql: str  # with psycopg placeholders (%s), literal % doubled
    values: list[Any]
    statements: int  # how many statements the text holds (the Data API runs one)


def translate(sql: str, parameters: list[dict[str, Any]] | None) -> Statement:
    """Replace ``:name`` placeholders by ``%s`` (cast per ``typeHint``) and collect the values in order."""
    by_name: dict[str, dict[str, Any]] = {}
    for parameter in parameters or []:
        name = parameter.get("name")
        if not name:
            raise bad_request("Parameter name must be specified")
        by_name[str(name)] = parameter
    out: list[str] = []
    values: list[Any] = []
    statements = 0
    pending = False  # text since the last ';' that is more than whitespace and comments
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "'" or ch == '"':
            end = _closing_quote(sql, i, ch)
            out.append(sql[i:end].replace("%", "%%"))
            pending, i = True, end
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "$" and (tag := _dollar_tag(sql, i)):
            end = sql.find(tag, i + len(tag))
            end = n if end < 0 else end + len(tag)
            out.append(sql[i:end].replace("%", "%%"))
            pending, i = True, end
        elif ch == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            name = sql[i + 1 : j]
            found = by_name.get(name)
            if found is None:
                raise bad_request(f"No value specified for parameter: {name}")
            value, cast = parameter_value(found)
            out.append(f"%s::{cast}" if cast else "%s")
            values.append(value)
            pending, i = True, j
        elif ch == ";":
            statements += 1 if pending else 0
            pending = False
            out.append(ch)
            i += 1
        else:
            if not ch.isspace():
                pending = True
            out.append("%%" if ch == "%" else ch)
            i += 1
    statements += 1 if pending else 0
    return Statement("".join(out), values, statements)


def _closing_quote(sql: str, start: int, quote: str) -> int:
    i = start + 1
    while i < len(sql):
        if sql[i] == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:  # '' or "" inside
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def _dollar_tag(sql: str, start: int) -> str | None:
    """``$$`` or ``$tag$`` opening a dollar-quoted string at ``start`` (not a ``$1`` parameter)."""
    j = start + 1
    while j < len(sql) and (sql[j].isalnum() or sql[j] == "_"):
        j += 1
    if (
        j < len(sql)
        and sql[j] == "$"
        and not sql[start + 1 : j].isdigit()
        or (j == start + 1 and sql[j : j + 1] == "$")
    ):
        return sql[start : j + 1]
    return None


def parameter_value(parameter: dict[str, Any]) -> tuple[Any, str | None]:
    """A SqlParameter's Python value, and the SQL cast its typeHint asks for."""
    field = parameter.get("value") or {}
    hint = parameter.get("typeHint")
    if hint is not None and hint not in TYPE_HINT_CASTS:
        raise bad_request(f"Invalid typeHint: {hint}")
    if "arrayValue" in field:
        raise bad_request("Array parameters are not supported.")
    if field.get("isNull"):
        return None, TYPE_HINT_CASTS.get(hint) if hint else None
    if "stringValue" in field:
        return str(field["stringValue"]), TYPE_HINT_CASTS.get(hint) if hint else None
    if hint is not None:
        raise bad_request(f"typeHint {hint} applies to stringValue parameters only")
    if "booleanValue" in field:
        return bool(field["booleanValue"]), None
    if "longValue" in field:
        return int(field["longValue"]), None
    if "doubleValue" in field:
        return float(field["doubleValue"]), None
    if "blobValue" in field:
        return base64.b64decode(field["blobValue"]), None
    if not field:
        return None, None
    raise bad_request(f"Unsupported parameter value: {sorted(field)}")


# --- adapters ------------------------------------------------------------------------------------------------------

_adapters: Any = None


def adapters() -> Any:
    """psycopg adapters for Data API connections: str binds as varchar, int as bigint; results load as PostgreSQL
    text (arrays as lists of text), converted by type here rather than by psycopg."""
    global _adapters
    if _adapters is None:
        import psycopg
        from psycopg.adapt import AdaptersMap, Loader
        from psycopg.postgres import types
        from psycopg.types.numeric import Int8Dumper
        from psycopg.types.string import StrDumper

        class VarcharDumper(StrDumper):
            oid = types["varchar"].oid

        class TextLoader(Loader):
            def load(self, data: Any) -> str:
                return bytes(data).decode()

        mapping = AdaptersMap(psycopg.adapters)
        mapping.register_dumper(str, VarcharDumper)
        mapping.register_dumper(int, Int8Dumper)
        array_oids = {t.array_oid for t in types if t.array_oid}
        for info in types:
            if info.oid not in array_oids:
                mapping.register_loader(info.oid, TextLoader)
        _adapters = mapping
    return _adapters


# --- results ---------------------------------------------------------------------------------------------------------

BOOL, INT2, INT4, INT8, OID = 16, 21, 23, 20, 26
FLOAT4, FLOAT8, NUMERIC, MONEY = 700, 701, 1700, 790
BYTEA, TIMESTAMPTZ, TIMETZ = 17, 1184, 1266
INTEGERS = {INT2, INT4, INT8, OID}
FLOATS = {FLOAT4, FLOAT8}
UNSUPPORTED = {1186: "interval", 18: "char", 142: "xml"}

# java.sql.Types, as the PostgreSQL JDBC driver (which the Data API runs on) reports them.
JDBC_TYPES = {
    BOOL: -7, INT2: 5, INT4: 4, INT8: -5, OID: -5, FLOAT4: 7, FLOAT8: 8, NUMERIC: 2, MONEY: 8, BYTEA: -2,
    18: 1, 1042: 1, 1043: 12, 25: 12, 19: 12, 1082: 91, 1083: 92, TIMETZ: 92, 1114: 93, TIMESTAMPTZ: 93, 142: 2009,
}  # fmt: skip
JDBC_ARRAY, JDBC_OTHER = 2003, 1111
CASE_INSENSITIVE = INTEGERS | FLOATS | {BOOL, NUMERIC, MONEY, 1082, 1083, TIMETZ, 1114, TIMESTAMPTZ}
SIGNED = INTEGERS - {OID} | FLOATS | {NUMERIC, MONEY}
PRECISION = {BOOL: 1, INT2: 5, INT4: 10, INT8: 19, OID: 10, FLOAT4: 8, FLOAT8: 17, 1082: 13, 1083: 15, TIMETZ: 21,
             1114: 29, TIMESTAMPTZ: 35}  # fmt: skip
UNLIMITED = 2147483647


@dataclass
class ResultOptions:
    decimal_as_number: bool = False  # decimalReturnType DOUBLE_OR_LONG
    long_as_string: bool = False  # longReturnType STRING


def field_value(value: Any, oid: int, element_oid: int | None, options: ResultOptions) -> dict[str, Any]:
    """One result value as a Data API ``Field`` (values arrive as PostgreSQL text; arrays as lists of text)."""
    if value is None:
        return {"isNull": True}
    if oid in UNSUPPORTED:
        raise unsupported_result(f"The result contains an unsupported data type: {UNSUPPORTED[oid]}")
    if isinstance(value, list):
        return {"arrayValue": array_value(value, element_oid or 0, options)}
    text = str(value)
    if oid == BOOL:
        return {"booleanValue": text == "t"}
    if oid in INTEGERS:
        return {"stringValue": text} if options.long_as_string else {"longValue": int(text)}
    if oid in FLOATS:
        return {"doubleValue": float(text)}
    if oid == NUMERIC and options.decimal_as_number and text not in ("NaN", "Infinity", "-Infinity"):
        return {"longValue": int(text)} if "." not in text else {"doubleValue": float(text)}
    if oid == BYTEA:
        return {"blobValue": base64.b64encode(bytes.fromhex(text[2:])).decode()}
    if oid == TIMESTAMPTZ:
        return {"stringValue": utc_wall_clock(text)}
    return {"stringValue": text}


def array_value(items: list[Any], element_oid: int, options: ResultOptions) -> dict[str, Any]:
    if any(isinstance(item, list) for item in items):
        raise unsupported_result("The result contains a multidimensional array")
    if element_oid in UNSUPPORTED:
        raise unsupported_result(f"The result contains an unsupported data type: {UNSUPPORTED[element_oid]}")
    if element_oid == BOOL:
        return {"booleanValues": [None if v is None else v == "t" for v in items]}
    if element_oid in INTEGERS and not options.long_as_string:
        return {"longValues": [None if v is None else int(v) for v in items]}
    if element_oid in FLOATS:
        return {"doubleValues": [None if v is None else float(v) for v in items]}
    if element_oid == TIMESTAMPTZ:
        return {"stringValues": [None if v is None else utc_wall_clock(v) for v in items]}
    return {"stringValues": [None if v is None else str(v) for v in items]}


def json_value(value: Any, oid: int, element_oid: int | None, options: ResultOptions) -> Any:
    """One result value as it appears in ``formattedRecords`` (formatRecordsAs=JSON)."""
    field = field_value(value, oid, element_oid, options)
    ((kind, inner),) = field.items()
    if kind == "isNull":
        return None
    if kind == "arrayValue":
        ((_, items),) = inner.items()
        return items
    return inner


def utc_wall_clock(text: str) -> str:
    """``2024-01-15 03:34:56.5+00`` -> ``2024-01-15 03:34:56.5`` (the session's TimeZone is UTC)."""
    for sign in ("+", "-"):
        cut = text.rfind(sign)
        if cut > 10:  # past the date's own dashes
            return text[:cut]
    return text


def records_size(records: Any) -> int:
    return len(json.dumps(records, separators=(",", ":")))


@dataclass
class ColumnInfo:
    type_name: str = "unknown"
    table: str = ""
    not_null: bool = False
    auto_increment: bool = False


def column_metadata(column: Any, element_oid: int | None, info: ColumnInfo) -> dict[str, Any]:
    """A ``ColumnMetadata`` entry, as the Data API reports it through the PostgreSQL JDBC driver's conventions."""
    oid = column.type_code
    type_name = info.type_name
    if info.auto_increment and oid in (INT2, INT4, INT8):
        type_name = {INT2: "smallserial", INT4: "serial", INT8: "bigserial"}[oid]
    precision = PRECISION.get(oid)
    if precision is None:
        precision = (column.precision or 0) if oid == NUMERIC else (column.internal_size or UNLIMITED)
        if oid in (1042, 1043) and column.display_size:
            precision = column.display_size
    if precision is not None and precision < 0:
        precision = UNLIMITED
    scale = column.scale or 0 if oid == NUMERIC else (6 if oid in (1083, TIMETZ, 1114, TIMESTAMPTZ) else 0)
    return {
        "name": column.name,
        "type": JDBC_ARRAY if element_oid else JDBC_TYPES.get(oid, JDBC_OTHER),
        "typeName": type_name,
        "label": column.name,
        "schemaName": "",
        "tableName": info.table,
        "isAutoIncrement": info.auto_increment,
        "isSigned": oid in SIGNED,
        "isCurrency": oid == MONEY,
        "isCaseSensitive": oid not in CASE_INSENSITIVE,
        "nullable": 0 if info.not_null else 1,
        "precision": precision,
        "scale": scale,
        "arrayBaseColumnType": JDBC_TYPES.get(element_oid, JDBC_OTHER) if element_oid else 0,
    }


def element_oids() -> dict[int, int]:
    """Array type oid -> element type oid, for PostgreSQL's built-in types."""
    from psycopg.postgres import types

    return {t.array_oid: t.oid for t in types if t.array_oid}
