-- Search (challenge 14): one row per searchable document (movie, showtime, cinema) of each tenant, and each tenant's
-- search language. Applied once, under the advisory lock, by the migrate function (docs/patterns/14-full-text-search.md).

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- English and Portuguese with accents folded (unaccent before the stemmer), and a simple one for type-ahead prefixes.
CREATE TEXT SEARCH CONFIGURATION marquee_english (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION marquee_english
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
CREATE TEXT SEARCH CONFIGURATION marquee_portuguese (COPY = pg_catalog.portuguese);
ALTER TEXT SEARCH CONFIGURATION marquee_portuguese
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, portuguese_stem;
CREATE TEXT SEARCH CONFIGURATION marquee_simple (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION marquee_simple
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;

-- The configuration of a language code. Declared IMMUTABLE so that a generated column and the planner can use it: the
-- configurations it names are created here and never renamed (a language is added by a new migration).
CREATE FUNCTION search_config(language text) RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE language WHEN 'pt' THEN 'marquee_portuguese'::regconfig ELSE 'marquee_english'::regconfig END;

-- Lower case without accents, for city filters and trigram titles ("São Paulo" = "sao paulo").
CREATE FUNCTION search_fold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN public.unaccent('public.unaccent'::regdictionary, lower(value));

-- array_to_string is STABLE in general (element output functions); for text[] it is not, and a generated column needs
-- an IMMUTABLE function.
CREATE FUNCTION search_join(value text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(array_to_string(value, ' '), '');

-- Tenant settings that live beside the data they govern. language: 'en' (default) or 'pt'.
CREATE TABLE tenant_settings (
    tenant_id text PRIMARY KEY CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'pt')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE search_documents (
    tenant_id text NOT NULL,
    doc_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('movie', 'showtime', 'cinema')),
    movie_id text,
    cinema_id text,
    title text NOT NULL DEFAULT '',
    original_title text NOT NULL DEFAULT '',
    cast_names text NOT NULL DEFAULT '',
    director text NOT NULL DEFAULT '',
    synopsis text NOT NULL DEFAULT '',
    genres text[] NOT NULL DEFAULT '{}',
    cinema_name text NOT NULL DEFAULT '',
    city text NOT NULL DEFAULT '',
    starts_at timestamptz,
    popularity integer NOT NULL DEFAULT 0 CHECK (popularity >= 0),
    language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'pt')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector(search_config(language), title || ' ' || original_title), 'A')
        || setweight(to_tsvector(search_config(language), cast_names || ' ' || director), 'B')
        || setweight(to_tsvector(search_config(language), search_join(genres) || ' ' || cinema_name || ' ' || city), 'C')
        || setweight(to_tsvector(search_config(language), synopsis), 'D')
    ) STORED,
    PRIMARY KEY (tenant_id, doc_id)
);

-- Every index leads with tenant_id: a tenant's query reads only its own entries.
CREATE INDEX search_documents_match ON search_documents USING gin (tenant_id, document);
CREATE INDEX search_documents_popularity ON search_documents (tenant_id, popularity DESC, doc_id);
CREATE INDEX search_documents_title_trgm ON search_documents
    USING gin (tenant_id, search_fold(title) gin_trgm_ops) WHERE kind <> 'showtime';
CREATE INDEX search_documents_movie ON search_documents (tenant_id, movie_id) WHERE movie_id IS NOT NULL;
CREATE INDEX search_documents_cinema ON search_documents (tenant_id, cinema_id) WHERE cinema_id IS NOT NULL;
