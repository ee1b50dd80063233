"""Full-text search (challenge 14) over movies, showtimes and cinemas, per tenant, in Aurora PostgreSQL.

- ``query``: the validated search (text, filters, page) and the SQL it runs (pure; unit-tested);
- ``cursor``: the opaque keyset cursor;
- ``documents``: the write path (one row per movie, showtime and cinema; the tsvector is a generated column);
- ``service``: runs a search through the Data API and maps rows to hits;
- ``errors``: the 4xx a bad query or cursor gets.
"""
