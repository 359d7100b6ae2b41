ALTER TABLE contracts DROP CONSTRAINT contracts_source_reference_unique;
ALTER TABLE contracts ADD CONSTRAINT contracts_source_reference_unique
    UNIQUE (source, source_reference);
