-- CQRS (challenge 5): the projector's event log and the registry of read-model generations. The read models' own tables
-- are created by the migrate function after the migrations (marquee.projections.store.install), one generation at a
-- time, from the DDL in marquee.projections.models: a rebuild creates the next generation from the same code.

-- Every event the projector has applied, once (event_id is unique): the inbox that makes a redelivery a no-op, and the
-- history a rebuild replays. projected_at - occurred_at is the read models' lag.
CREATE TABLE projection_events (
    seq bigserial PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    tenant_id text NOT NULL,
    type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    projected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    envelope jsonb NOT NULL
);
CREATE INDEX projection_events_by_type ON projection_events (type, seq);

-- Each read model's generations: one live (what the views show), at most one building (a rebuild), the rest retired.
-- The projector reads this table FOR SHARE in each event's transaction and writes every live and building generation;
-- a rebuild takes the live row FOR UPDATE to add a generation or swap one in, so no event can slip between the two.
CREATE TABLE projection_generations (
    projection text NOT NULL,
    generation integer NOT NULL CHECK (generation >= 1),
    state text NOT NULL CHECK (state IN ('building', 'live', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    live_at timestamptz,
    PRIMARY KEY (projection, generation)
);
CREATE UNIQUE INDEX projection_generations_one_live ON projection_generations (projection) WHERE state = 'live';
CREATE UNIQUE INDEX projection_generations_one_building ON projection_generations (projection) WHERE state = 'building';

-- Search documents become a projection of the catalog events: a movie's document keeps the highest revision it saw.
ALTER TABLE search_documents ADD COLUMN version integer NOT NULL DEFAULT 0;
