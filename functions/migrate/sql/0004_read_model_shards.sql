-- Tenant sharding of the read side (challenge 9): each shard's read models and search documents live in that shard's
-- own schema (s0 in public, where they always were; sN in shard_sN, created on first use by
-- marquee.projections.shards.ensure). This registry lists the schemas that exist; the placement says where each
-- tenant's read-model rows are. The projector reads a tenant's placement FOR SHARE in each event's transaction, and the
-- shard mover takes it FOR UPDATE to copy the tenant's rows and flip it in one transaction, so no event is applied to
-- the schema it is leaving once the copy has started.
CREATE TABLE read_model_shards (
    shard text PRIMARY KEY CHECK (shard ~ '^s[0-9]{1,3}$'),
    schema_name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO read_model_shards (shard, schema_name) VALUES ('s0', 'public');

-- A tenant with no row has its read models in s0 (every tenant before sharding, and every tenant no event has reached).
CREATE TABLE read_model_placement (
    tenant_id text PRIMARY KEY,
    shard text NOT NULL REFERENCES read_model_shards (shard),
    placed_at timestamptz NOT NULL DEFAULT now()
);

-- A tenant's read-model shard, as SQL (a rebuild compares each schema's rows of the tenants placed there).
CREATE FUNCTION read_model_shard(tenant text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN coalesce((SELECT p.shard FROM read_model_placement p WHERE p.tenant_id = tenant), 's0');
