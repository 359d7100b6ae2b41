DROP INDEX contracts_system_id_borough_id;
DROP TRIGGER contract_service_areas_rollup_truncate ON contract_service_areas;
DROP TRIGGER contracts_rollup_truncate ON contracts;
DROP FUNCTION contracts_rollup_truncated();
DROP FUNCTION rollup_rebuild();
DROP FUNCTION rollup_compact();
DROP TRIGGER contract_service_areas_rollup ON contract_service_areas;
DROP FUNCTION contract_service_areas_rollup();
DROP TRIGGER contracts_rollup_delete ON contracts;
DROP TRIGGER contracts_rollup_update ON contracts;
DROP TRIGGER contracts_rollup ON contracts;
DROP FUNCTION contracts_rollup();
DROP FUNCTION rollup_contract_areas(contracts, INTEGER);
DROP FUNCTION rollup_contract(contracts, INTEGER);
DROP TABLE rollup_area_supplier_borough_delta, rollup_area_supplier_borough,
    rollup_borough_quarter_delta, rollup_borough_quarter,
    rollup_borough_system_delta, rollup_borough_system,
    rollup_borough_supplier_delta, rollup_borough_supplier;
