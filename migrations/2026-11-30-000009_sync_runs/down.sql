DROP TRIGGER contracts_sync_provenance ON contracts;
DROP FUNCTION stamp_sync_provenance();
ALTER TABLE contracts DROP COLUMN sync_run_id, DROP COLUMN retrieved_at;
DROP TABLE sync_runs;
