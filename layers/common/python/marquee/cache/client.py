"""The Valkey client for a cache endpoint, made on first use and reused by every call of the process.

ElastiCache Serverless only accepts TLS, and is a cluster (``valkey.cluster.ValkeyCluster`` follows its slot map). The
local cloud's caches are plain servers without TLS (docs/local-cloud.md, "ElastiCache Serverless (Valkey)"). The
function's env model decides both (``CACHE_TLS``, ``CACHE_CLUSTER``: true on AWS, false locally), so the code is the
same on both targets. Short timeouts: a cache that does not answer in a quarter of a second is treated as down (the
breaker in marquee.cache.aside), rather than holding the request.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def cache_client(address: str, port: int, *, tls: bool, cluster: bool, timeout_s: float = 0.25) -> Any:
    options: dict[str, Any] = {
        "host": address,
        "port": port,
        "ssl": tls,
        "socket_connect_timeout": timeout_s,
        "socket_timeout": timeout_s,
    }
    if cluster:
        from valkey.cluster import ValkeyCluster

        return ValkeyCluster(**options)
    import valkey

    return valkey.Valkey(**options, health_check_interval=30)
