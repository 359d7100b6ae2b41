-- Contract lists filtered on one borough, supplier or system read their first page in id order
-- (the default sort) straight from an index instead of walking the primary key and discarding
-- other records' contracts; a system filter sorted by end date reads (system_id, end_date) as
-- borough and supplier filters already do. Plans at 1,000,000 contracts:
-- bench/results/2026-11-28-list-plans.md.
CREATE INDEX contracts_borough_id_id ON contracts (borough_id, id);
CREATE INDEX contracts_supplier_id_id ON contracts (supplier_id, id);
-- (system_id, id) serves every lookup (system_id) did, and id order besides.
DROP INDEX contracts_system_id;
CREATE INDEX contracts_system_id_id ON contracts (system_id, id);
CREATE INDEX contracts_system_id_end_date ON contracts (system_id, end_date);
