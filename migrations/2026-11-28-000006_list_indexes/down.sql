DROP INDEX contracts_system_id_end_date;
DROP INDEX contracts_system_id_id;
CREATE INDEX contracts_system_id ON contracts (system_id);
DROP INDEX contracts_supplier_id_id;
DROP INDEX contracts_borough_id_id;
