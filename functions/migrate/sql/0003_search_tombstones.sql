-- Soft delete (challenge 8): the deleted movies, cinemas and showtimes of each tenant, as search sees them. A row keeps
-- the highest revision of the entity's MovieDeleted/MovieRestored (Cinema..., Showtime...) events, so the projection
-- is commutative; the search queries skip a document whose own id, movie or cinema has a row with deleted = true.
-- The documents themselves stay: a restore makes them searchable again without re-indexing.
CREATE TABLE search_tombstones (
    tenant_id text NOT NULL,
    doc_id text NOT NULL,
    revision integer NOT NULL,
    deleted boolean NOT NULL,
    PRIMARY KEY (tenant_id, doc_id)
);
CREATE INDEX search_tombstones_deleted ON search_tombstones (tenant_id, doc_id) WHERE deleted;
