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
"""

from __future__ import annotations

import threading
from typing import Any

_partition = threading.local()  # the Table whose query is running on this thread, and that query's partition
_MAX_HOSTS = 4096


def install_query() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "localcloud_patched", False):
        return  # idempotent: the bench applies it in its own process too

    original_query = Table.query
    original_all_items = Table.all_items

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
        if bucket is None:
            items: list[Any] = []
        elif self.range_key_attr:
            items = list(bucket.values())
        else:
            items = [bucket]
        _partition.hint = (self, items)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.hint = None

    query.localcloud_patched = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


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
