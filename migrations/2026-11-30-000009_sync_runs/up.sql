-- `citytools sync`: one row per run against a public source, with what it did and where it got
-- to, so that the next run without `--since` continues from `position`.
CREATE TABLE sync_runs (
    id          BIGSERIAL PRIMARY KEY,
    source      TEXT NOT NULL CHECK (source IN ('contracts-finder', 'find-a-tender')),
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    pages       INTEGER NOT NULL DEFAULT 0 CHECK (pages >= 0),
    added       INTEGER NOT NULL DEFAULT 0 CHECK (added >= 0),
    updated     INTEGER NOT NULL DEFAULT 0 CHECK (updated >= 0),
    unchanged   INTEGER NOT NULL DEFAULT 0 CHECK (unchanged >= 0),
    skipped     INTEGER NOT NULL DEFAULT 0 CHECK (skipped >= 0),
    -- Why the run stopped early; null when it reached the end of the source.
    error       TEXT,
    -- Where the next run starts: the `links.next` URL of the last page committed, or, once a
    -- search has been read to its end, the `publishedTo` it reached (RFC 3339).
    position    TEXT
);
-- The next run reads the latest position of its source.
CREATE INDEX sync_runs_source_id ON sync_runs (source, id DESC);

-- Where a contract's stored values came from: the sync run that last wrote them and when that
-- run read them. Null for contracts written by anything else.
ALTER TABLE contracts
    ADD COLUMN retrieved_at TIMESTAMPTZ,
    ADD COLUMN sync_run_id  BIGINT REFERENCES sync_runs (id) ON DELETE SET NULL;
CREATE INDEX contracts_sync_run_id ON contracts (sync_run_id) WHERE sync_run_id IS NOT NULL;

-- A sync writes through the importer, whose inserts and updates know nothing of provenance: the
-- sync's page transaction sets `citytools.sync_run_id` and `citytools.retrieved_at` (SET LOCAL),
-- and this trigger stamps the rows that transaction writes, in the same write, so the change log
-- records them and the version moves once. Other writers never set them, so they leave a
-- contract's provenance as it was.
CREATE FUNCTION stamp_sync_provenance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    run TEXT := current_setting('citytools.sync_run_id', true);
BEGIN
    IF run IS NOT NULL AND run <> '' THEN
        NEW.sync_run_id := run::BIGINT;
        NEW.retrieved_at := current_setting('citytools.retrieved_at', true)::TIMESTAMPTZ;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER contracts_sync_provenance BEFORE INSERT OR UPDATE ON contracts
    FOR EACH ROW EXECUTE FUNCTION stamp_sync_provenance();
