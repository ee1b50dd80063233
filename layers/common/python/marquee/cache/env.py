"""``CacheEnv``: the variables of a function that uses the cache (infra/constructs/cache.py sets them).

``CACHE_TLS`` and ``CACHE_CLUSTER`` are true on AWS (ElastiCache Serverless: TLS only, a cluster to its clients) and
false on the local cloud (one plain Valkey server on loopback). The client is made on first use, never at import.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marquee.cache.client import cache_client
from marquee.core.env import BaseEnv


class CacheEnv(BaseEnv):
    cache_address: str = Field(min_length=1)
    cache_port: int = Field(ge=1, le=65535)
    cache_tls: bool
    cache_cluster: bool

    def cache_client(self) -> Any:
        return cache_client(self.cache_address, self.cache_port, tls=self.cache_tls, cluster=self.cache_cluster)
