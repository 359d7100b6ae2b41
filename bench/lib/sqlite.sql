-- The contracts in SQLite for Datasette, from the CSV files bench/run.sh exports with psql.
-- Run by `sqlite3 bench.db` from the directory that holds contracts.csv and areas.csv.
--
-- One wide contracts table: the columns of the contracts table that anonymous callers of the
-- API see, with the borough's, supplier's and system's names and the service areas (joined by
-- "|") stored beside them, so Datasette serves in one table what citytools joins on each
-- request. Indexes as in migrations/ on the columns the benchmark filters on, and an FTS5
-- index for Datasette's `_search` (citytools' `q` scans with ILIKE instead).
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -200000;

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY,
    borough_id TEXT NOT NULL,
    borough_name TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    supplier_name TEXT NOT NULL,
    system_id TEXT,
    system_name TEXT,
    service_area_ids TEXT NOT NULL,
    title TEXT NOT NULL,
    start_date TEXT,
    end_date TEXT,
    max_end_date TEXT,
    annual_value_gbp REAL,
    total_value_gbp REAL,
    hosting TEXT NOT NULL,
    procurement_route TEXT NOT NULL,
    framework_name TEXT,
    data_access TEXT NOT NULL,
    source TEXT NOT NULL,
    source_reference TEXT,
    source_url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE contract_service_areas (
    contract_id INTEGER NOT NULL REFERENCES contracts (id),
    service_area_id TEXT NOT NULL,
    PRIMARY KEY (contract_id, service_area_id)
);

-- CSV cells cannot say NULL: load as text into a temporary table, then convert.
CREATE TEMP TABLE staging (
    id, borough_id, borough_name, supplier_id, supplier_name, system_id, system_name,
    service_area_ids, title, start_date, end_date, max_end_date, annual_value_gbp,
    total_value_gbp, hosting, procurement_route, framework_name, data_access, source,
    source_reference, source_url, created_at, updated_at, version
);
.import --csv --skip 1 --schema temp contracts.csv staging
INSERT INTO contracts
SELECT CAST(id AS INTEGER), borough_id, borough_name, supplier_id, supplier_name,
       NULLIF(system_id, ''), NULLIF(system_name, ''), service_area_ids, title,
       NULLIF(start_date, ''), NULLIF(end_date, ''), NULLIF(max_end_date, ''),
       CAST(NULLIF(annual_value_gbp, '') AS REAL), CAST(NULLIF(total_value_gbp, '') AS REAL),
       hosting, procurement_route, NULLIF(framework_name, ''), data_access, source,
       NULLIF(source_reference, ''), NULLIF(source_url, ''), created_at, updated_at,
       CAST(version AS INTEGER)
FROM temp.staging ORDER BY CAST(id AS INTEGER);
DROP TABLE temp.staging;
.import --csv --skip 1 areas.csv contract_service_areas

-- The indexes of migrations/ on these tables.
CREATE INDEX contracts_borough_id_end_date ON contracts (borough_id, end_date);
CREATE INDEX contracts_supplier_id_end_date ON contracts (supplier_id, end_date);
CREATE INDEX contracts_system_id ON contracts (system_id);
CREATE INDEX contracts_end_date ON contracts (end_date);
CREATE INDEX contracts_start_date ON contracts (start_date);
CREATE INDEX contracts_annual_value_gbp ON contracts (annual_value_gbp);
CREATE INDEX contract_service_areas_service_area_id ON contract_service_areas (service_area_id, contract_id);

-- Full-text search over the columns citytools' q searches; content="contracts" is how Datasette
-- finds it for _search.
CREATE VIRTUAL TABLE contracts_fts USING fts5 (
    title, supplier_name, system_name, content="contracts", content_rowid="id"
);
INSERT INTO contracts_fts (contracts_fts) VALUES ('rebuild');

ANALYZE;
