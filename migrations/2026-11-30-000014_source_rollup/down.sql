DROP FUNCTION rollup_rebuild();
DROP FUNCTION rollup_compact();
ALTER FUNCTION rollup_rebuild_totals() RENAME TO rollup_rebuild;
ALTER FUNCTION rollup_compact_totals() RENAME TO rollup_compact;
DROP TRIGGER contracts_rollup_source_update ON contracts;
DROP TRIGGER contracts_rollup_source ON contracts;
DROP FUNCTION contracts_rollup_source();
DROP TABLE rollup_borough_supplier_source_delta;
DROP TABLE rollup_borough_supplier_source;
