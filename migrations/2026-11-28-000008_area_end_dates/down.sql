DROP INDEX contract_service_areas_end_date;
DROP TRIGGER contract_service_areas_rollup ON contract_service_areas;
CREATE TRIGGER contract_service_areas_rollup AFTER INSERT OR UPDATE OR DELETE ON contract_service_areas
    FOR EACH ROW EXECUTE FUNCTION contract_service_areas_rollup();
DROP TRIGGER contracts_copy_to_areas ON contracts;
DROP FUNCTION contracts_copy_to_areas();
DROP TRIGGER contract_service_areas_copy ON contract_service_areas;
DROP FUNCTION contract_service_areas_copy();
ALTER TABLE contract_service_areas DROP COLUMN end_date, DROP COLUMN borough_id, DROP COLUMN annual_value_gbp;
