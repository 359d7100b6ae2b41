-- Each service-area row of a contract carries the contract's end date, borough and annual value,
-- copied by triggers, so that totals per service area over an end-date window (opportunities)
-- are one range scan of an index instead of a join of every contract in the window with every
-- service-area row.
ALTER TABLE contract_service_areas
    ADD COLUMN end_date DATE,
    ADD COLUMN borough_id TEXT,
    ADD COLUMN annual_value_gbp NUMERIC(14, 2);
UPDATE contract_service_areas csa
SET end_date = c.end_date, borough_id = c.borough_id, annual_value_gbp = c.annual_value_gbp
FROM contracts c WHERE c.id = csa.contract_id;
ALTER TABLE contract_service_areas ALTER COLUMN borough_id SET NOT NULL;

-- A new (or re-pointed) row takes its contract's values, whatever the writer gave.
CREATE FUNCTION contract_service_areas_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.end_date, c.borough_id, c.annual_value_gbp
    INTO NEW.end_date, NEW.borough_id, NEW.annual_value_gbp
    FROM contracts c WHERE c.id = NEW.contract_id;
    RETURN NEW;
END;
$$;
CREATE TRIGGER contract_service_areas_copy BEFORE INSERT OR UPDATE OF contract_id ON contract_service_areas
    FOR EACH ROW EXECUTE FUNCTION contract_service_areas_copy();

-- A contract's new values reach its service-area rows.
CREATE FUNCTION contracts_copy_to_areas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contract_service_areas
    SET end_date = NEW.end_date, borough_id = NEW.borough_id, annual_value_gbp = NEW.annual_value_gbp
    WHERE contract_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER contracts_copy_to_areas AFTER UPDATE ON contracts
    FOR EACH ROW
    WHEN (OLD.end_date IS DISTINCT FROM NEW.end_date
        OR OLD.borough_id IS DISTINCT FROM NEW.borough_id
        OR OLD.annual_value_gbp IS DISTINCT FROM NEW.annual_value_gbp)
    EXECUTE FUNCTION contracts_copy_to_areas();

-- The rollup of service areas follows a row's area and contract only: the copied values are
-- already followed through the contract's own trigger.
DROP TRIGGER contract_service_areas_rollup ON contract_service_areas;
CREATE TRIGGER contract_service_areas_rollup
    AFTER INSERT OR DELETE OR UPDATE OF contract_id, service_area_id ON contract_service_areas
    FOR EACH ROW EXECUTE FUNCTION contract_service_areas_rollup();

CREATE INDEX contract_service_areas_end_date ON contract_service_areas (end_date)
    INCLUDE (service_area_id, borough_id, annual_value_gbp);
