-- A contract's reference in its source is unique within its borough, not across London: one
-- borough can no longer take a reference of another's namespace (`register:camden:R-200:...`)
-- and so make the other's import fail or update the wrong contract.
ALTER TABLE contracts DROP CONSTRAINT contracts_source_reference_unique;
ALTER TABLE contracts ADD CONSTRAINT contracts_source_reference_unique
    UNIQUE (source, borough_id, source_reference);
