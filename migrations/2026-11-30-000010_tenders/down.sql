ALTER TABLE sync_runs DROP COLUMN tenders_added, DROP COLUMN tenders_updated;
DELETE FROM changes WHERE resource = 'tenders';
ALTER TABLE changes DROP CONSTRAINT changes_resource_check;
ALTER TABLE changes ADD CONSTRAINT changes_resource_check
    CHECK (resource IN ('boroughs', 'service_areas', 'suppliers', 'systems', 'contracts'));
DROP INDEX contracts_process;
DROP TABLE tender_service_areas;
DROP TABLE tenders;
