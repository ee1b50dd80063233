"""Two of moto's costs that grow with the platform's use, removed without changing any answer moto gives.

Found by profiling the local cloud under the saga invariant test (py-spy, docs/local-cloud.md "moto patches"):

- **Query sorted the whole table.** ``Table.query`` on the base table built a list of *every* item in the table,
  sorted it, and then kept the items of the one partition asked for. Every other DynamoDB call waits for it (the
  local cloud serializes DynamoDB calls, see ``dynamodb_atomicity``), so as the table grew over a session every Query
  got slower and the whole platform with it. AWS reads one partition. Here the query is handed that partition only,
  from moto's own index (``Table.items[hash_key]``, the dict ``GetItem`` uses); moto's code does the rest unchanged
  (range conditions, order, filters, limits, pagination). Queries on an index keep moto's full scan.
- **Every request walked moto's service list under a global lock.** ``DomainDispatcherApplication.get_application``
  holds one lock while ``get_backend_for_host`` lists moto's modules on disk (``os.path.isdir`` per module) and tries
  every service's URL pattern. The answer depends only on the host, so it is remembered per host.
- **Every attribute value was looked up ten times.** moto's JSON serializer writes a DynamoDB ``AttributeValue`` by
  trying each of the shape's ten members (S, N, B, SS, NS, BS, M, L, NULL, BOOL) on the value, every try running the
  alias providers and botocore's ``xform_name``: 70 % of a 20-item Query (2026-12-05). An attribute value is a dict
  with one of those members as its key, so only the members it has are serialized, by moto's own code; the result is
  the same (``tests/localcloud/test_moto_speed.py`` compares both on every member type).
- **A Query with a Limit walked its whole partition.** Even on one partition, moto sorts every item, tests the key
  condition on each and computes each one's size before it stops at ``Limit``: an as-of read (newest first,
  ``Limit=1``, a range condition) on an entity with 1,000 versions cost O(n log n). Each partition of a table with a
  sort key now keeps its keys in moto's order (``_Partition``: built on first use, kept on every insert and delete), and
  a Query on the base table bisects it for the range its key condition selects (``=``, ``<``, ``<=``, ``>``, ``>=``,
  ``BETWEEN``, ``begins_with``), steps past ``ExclusiveStartKey`` the way moto does, and hands moto only the items
  moto's own loop would reach: up to ``Limit`` items of the range plus the next one (which decides
  ``LastEvaluatedKey``). moto's code then answers as before over that slice (order, ``ScanIndexForward``,
  ``LastEvaluatedKey``, the 1 MB page, filters after ``Limit``, projections, ``ScannedCount``). Anything else (an
  index, another operator, a start key of another partition or type, a ``QueryFilter``, a page whose items could
  reach the 1 MB cut after the range ends) takes moto's path over the partition. ``tests/localcloud/
  test_query_bisect.py`` compares both answers on randomized data.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import defaultdict
from typing import Any

_partition = threading.local()  # the Table whose query is running on this thread, and that query's partition
_MAX_HOSTS = 4096
# moto's own bound on an item (``LimitedSizeDict``: Item.size() over 405,000 is refused on write and on update)
_MAX_ITEM_SIZE = 405_000
# the range comparisons a sorted partition answers by bisection (moto's names after KeyConditionExpression parsing)
_BISECTABLE = frozenset({"=", "EQ", "<", "LT", "<=", "LE", ">", "GT", ">=", "GE", "BETWEEN", "BEGINS_WITH"})


class _Partition(dict):  # type: ignore[type-arg]
    """One partition of a table with a sort key: moto's ``{range key: Item}`` dict that also keeps its keys in moto's
    order (``DynamoType`` compares ``cast_value``: ``str`` for S, ``Decimal`` for N, ``bytes`` for B).

    The order is built on the first Query that wants it and then kept on every insert and delete; any other kind of
    mutation (``update``, ``clear``, ...) drops it, to be built again. Copies are plain partitions (moto deep-copies
    a table's items for backups and restores)."""

    __slots__ = ("_casts", "_keys")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._casts: list[Any] | None = None
        self._keys: list[Any] = []

    def __reduce__(self) -> Any:
        return (type(self), (dict(self),))

    def order(self) -> tuple[list[Any], list[Any]] | None:
        """(cast values ascending, the keys in that order), or None when the keys cannot be ordered as moto would
        (mixed types; values that do not compare)."""
        if self._casts is None:
            keys = list(self)
            if keys:
                first = keys[0].type
                if any(key.type != first for key in keys):
                    return None
            try:
                pairs = sorted(((key.cast_value, key) for key in keys), key=lambda pair: pair[0])
            except (TypeError, ArithmeticError):
                return None
            self._casts = [cast for cast, _ in pairs]
            self._keys = [key for _, key in pairs]
        return self._casts, self._keys

    def _forget(self) -> None:
        self._casts = None
        self._keys = []

    def _insert(self, key: Any) -> None:
        casts = self._casts
        if casts is None:
            return
        try:
            if self._keys and key.type != self._keys[0].type:
                raise TypeError(key.type)
            cast = key.cast_value
            at = bisect_right(casts, cast)
        except (TypeError, ArithmeticError):
            self._forget()
            return
        casts.insert(at, cast)
        self._keys.insert(at, key)

    def _remove(self, key: Any) -> None:
        casts = self._casts
        if casts is None:
            return
        try:
            at = bisect_left(casts, key.cast_value)
        except (TypeError, ArithmeticError):
            self._forget()
            return
        if at < len(casts) and self._keys[at] == key:
            del casts[at]
            del self._keys[at]
        else:
            self._forget()

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self:
            self._insert(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._remove(key)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            self._remove(key)
        return super().pop(key, *default)

    def popitem(self) -> Any:
        self._forget()
        return super().popitem()

    def clear(self) -> None:
        self._forget()
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._forget()
        super().update(*args, **kwargs)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._forget()
        return super().setdefault(key, default)

    def __ior__(self, other: Any) -> Any:  # type: ignore[misc]
        self._forget()
        return super().__ior__(other)


def _matching(casts: list[Any], comparison: str | None, values: list[Any]) -> tuple[int, int] | None:
    """The index range [lo, hi) of the sorted cast values that ``comparison`` selects (moto's comparison functions
    select a contiguous run of moto's order), or None when bisection cannot answer for it."""
    n = len(casts)
    if comparison is None:
        return 0, n
    if comparison not in _BISECTABLE or not values:
        return None
    if n and any(type(value) is not type(casts[0]) for value in values):
        return None  # moto would compare across types (or fail): its own path answers
    v = values[0]
    if comparison in ("=", "EQ"):
        return bisect_left(casts, v), bisect_right(casts, v)
    if comparison in ("<", "LT"):
        return 0, bisect_left(casts, v)
    if comparison in ("<=", "LE"):
        return 0, bisect_right(casts, v)
    if comparison in (">", "GT"):
        return bisect_right(casts, v), n
    if comparison in (">=", "GE"):
        return bisect_left(casts, v), n
    if comparison == "BETWEEN":
        if len(values) != 2:
            return None
        lo, hi = bisect_left(casts, v), bisect_right(casts, values[1])
        return lo, max(lo, hi)
    # BEGINS_WITH: the strings (or bytes) starting with v follow v itself in the order, as one run
    if type(v) not in (str, bytes):
        return None
    lo = bisect_left(casts, v)
    a, b = lo, n
    while a < b:  # the first index past the run
        mid = (a + b) // 2
        if casts[mid].startswith(v):
            a = mid + 1
        else:
            b = mid
    return lo, a


def _bisected(
    table: Any, bucket: _Partition, comparison: str | None, range_objs: list[Any], limit: Any,
    exclusive_start_key: Any, forward: bool,
) -> list[Any] | None:  # fmt: skip
    """The items of ``bucket`` that moto's Query loop would reach, or None when moto's own path must answer."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT as result_size_limit

    if limit is not None and (type(limit) is not int or limit < 1):
        return None
    order = bucket.order()
    if order is None:
        return None
    casts, keys = order
    n = len(casts)
    try:
        span = _matching(casts, comparison, [obj.cast_value for obj in range_objs])
        if span is None:
            return None
        lo, hi = span
        # moto's loop skips the items at or before ExclusiveStartKey in scan order, then processes from the next one
        if exclusive_start_key is not None:
            from moto.dynamodb.models.dynamo_type import DynamoType

            if not isinstance(exclusive_start_key, dict):
                return None
            start_hash = DynamoType(exclusive_start_key[table.hash_key_attr])
            start_range = DynamoType(exclusive_start_key[table.range_key_attr])
            if n and (start_range.type != keys[0].type or start_hash != bucket[keys[0]].hash_key):
                return None  # another partition's or type's key: moto compares the hash key first, then the types
            start_cast = start_range.cast_value
            if n and type(start_cast) is not type(casts[0]):
                return None
            after_start = bisect_right(casts, start_cast) if forward else bisect_left(casts, start_cast) - 1
        else:
            after_start = 0 if forward else n - 1
    except (TypeError, ArithmeticError, KeyError, AttributeError, IndexError, ValueError):
        return None
    cap = n if limit is None else limit
    if forward:
        start = max(lo, after_start)
        taken = range(start, start + min(max(0, hi - start), cap))
        after = start + len(taken)
        tail = n - after
    else:
        start = min(hi - 1, after_start)
        taken = range(start, start - min(max(0, start - lo + 1), cap), -1)
        after = start - len(taken)
        tail = after + 1
    items = [bucket[keys[i]] for i in taken]
    if len(taken) < cap and tail > 0 and (len(items) + 1) * _MAX_ITEM_SIZE > result_size_limit:
        # the range ends before Limit: moto walks on through the rest of the partition, which can still end the page
        # at the 1 MB cut (one more item too large for what is left); when that is possible, moto's path answers
        if sum(item.size() for item in items) + _MAX_ITEM_SIZE > result_size_limit:
            return None
    if tail > 0:
        items.append(bucket[keys[after]])  # the item that decides LastEvaluatedKey when Limit is reached
    return items


def install_query() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "localcloud_patched", False):
        return  # idempotent: the bench applies it in its own process too

    original_query = Table.query
    original_all_items = Table.all_items
    original_init = Table.__init__

    def init(self: Table, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self.range_key_attr and not self.items:
            self.items = defaultdict(_Partition)

    def all_items(self: Table) -> list[Any]:
        hint = getattr(_partition, "hint", None)
        if hint is not None and hint[0] is self:
            return list(hint[1])
        return original_all_items(self)

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name or hash_key is None or getattr(hash_key, "type", None) not in ("S", "B"):
            return original_query(self, hash_key, *args, **kwargs)  # an index, or a key type we leave to moto
        bucket = self.items.get(hash_key)  # a plain get: the defaultdict must not grow an empty partition
        items: list[Any] | None = None
        if bucket is None:
            items = []
        elif not self.range_key_attr:
            items = [bucket]
        elif isinstance(bucket, _Partition) and not _extra_conditions(args, kwargs):
            items = _bisected(
                self, bucket, _arg(args, kwargs, 0, "range_comparison"), _arg(args, kwargs, 1, "range_objs"),
                _arg(args, kwargs, 2, "limit"), _arg(args, kwargs, 3, "exclusive_start_key"),
                _arg(args, kwargs, 4, "scan_index_forward") is not False,
            )  # fmt: skip
        if items is None and bucket is not None:
            items = list(bucket.values())
        _partition.hint = (self, items)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.hint = None

    query.localcloud_patched = True  # type: ignore[attr-defined]
    query.__wrapped__ = original_query  # type: ignore[attr-defined]  # for the parity test
    Table.__init__ = init  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], at: int, name: str) -> Any:
    """One of ``Table.query``'s parameters after ``hash_key``, passed by position or by name."""
    return args[at] if len(args) > at else kwargs.get(name)


def _extra_conditions(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """A legacy QueryFilter (moto's ``filter_kwargs``) or a multi-attribute key condition: moto's path answers."""
    named = {"range_comparison", "range_objs", "limit", "exclusive_start_key", "scan_index_forward",
             "projection_expressions", "index_name", "consistent_read", "filter_expression", "hash_key_conditions",
             "range_key_conditions"}  # fmt: skip
    if any(name not in named for name in kwargs):
        return True
    range_key_conditions = _arg(args, kwargs, 10, "range_key_conditions") or []
    return len(range_key_conditions) > 1


def install_dispatcher() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host

    def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
        cache: dict[str | None, Any] = self.__dict__.setdefault("_localcloud_hosts", {})
        try:
            return cache[host]
        except KeyError:
            backend = original(self, host)
            if len(cache) < _MAX_HOSTS:  # bounded: S3 virtual-host names make hosts an open set
                cache[host] = backend
            return backend

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def install_serializer() -> None:
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name != "AttributeValue" or type(value) is not dict or not value.keys() <= shape.members.keys():
            original(self, serialized, value, shape, key)
            return
        # moto's ResponseSerializer._serialize_type_structure, over the members the value has (none of the absent
        # members' aliases can name a key of such a dict: they are the members' snake_case forms).
        wrapper = self.MAP_TYPE() if key else serialized
        for member_key, member_shape in shape.members.items():
            if member_key in value:
                member_shape.parent = shape
                self._serialize_structure_member(wrapper, value, member_shape, member_key)
        if key:
            self._default_serialize(serialized, wrapper, shape, key)

    serialize_structure.__wrapped__ = original  # type: ignore[attr-defined]  # for the parity test
    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]
