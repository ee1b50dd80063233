"""Tenant sharding (challenge 9): tenants spread over N shard tables by a consistent-hash ring with virtual nodes,
silo overrides for premium tenants, a versioned shard map in a control table, and a mover that relocates one tenant
under live traffic (copy, catch up from the source's stream, a short write fence, verify, flip, clean up).

``routing.routed(client)`` is the one resolver: it rewrites the main table's name to the caller's shard table from
the tenant in each key, so no handler knows about shards (docs/patterns/09-tenant-sharding.md).
"""
