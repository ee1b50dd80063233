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
"""

from __future__ import annotations

import threading
from typing import Any

_partition = threading.local()  # the Table whose query is running on this thread, and that query's partition
_MAX_HOSTS = 4096


def install_query() -> None:
    from moto.dynamodb.models.table import Table

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
