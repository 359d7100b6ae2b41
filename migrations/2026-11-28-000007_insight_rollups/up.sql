-- Running totals behind the insights, so that an unfiltered insight (or one narrowed by borough,
-- supplier, system or service area) reads a few thousand totals instead of a million contracts.
--
-- Each rollup is a base table of totals (one row per key) and a delta table of signed changes.
-- Triggers on contracts and contract_service_areas only ever append to the delta tables, so
-- concurrent writes never wait on one another for a total; readers sum base and deltas;
-- rollup_compact() folds the deltas into the base (the service calls it every few seconds).
-- rollup_rebuild() recomputes everything from the contracts.

-- Per borough and supplier: contracts, rating sums and counts, data-access counts.
CREATE TABLE rollup_borough_supplier (
    borough_id          TEXT NOT NULL,
    supplier_id         TEXT NOT NULL,
    contracts           BIGINT NOT NULL,
    satisfaction_sum    BIGINT NOT NULL,
    satisfaction_n      BIGINT NOT NULL,
    value_for_money_sum BIGINT NOT NULL,
    value_for_money_n   BIGINT NOT NULL,
    data_included       BIGINT NOT NULL,
    data_charged        BIGINT NOT NULL,
    data_unavailable    BIGINT NOT NULL,
    data_unknown        BIGINT NOT NULL,
    PRIMARY KEY (borough_id, supplier_id)
);
CREATE TABLE rollup_borough_supplier_delta (LIKE rollup_borough_supplier);

-- Per borough, supplier and system (contracts naming a system).
CREATE TABLE rollup_borough_system (
    borough_id  TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    system_id   TEXT NOT NULL,
    contracts   BIGINT NOT NULL,
    PRIMARY KEY (borough_id, supplier_id, system_id)
);
CREATE TABLE rollup_borough_system_delta (LIKE rollup_borough_system);

-- Per borough and quarter of the end date (contracts with an end date).
CREATE TABLE rollup_borough_quarter (
    borough_id      TEXT NOT NULL,
    quarter         DATE NOT NULL,
    contracts       BIGINT NOT NULL,
    annual_value    NUMERIC NOT NULL,
    annual_values   BIGINT NOT NULL,
    PRIMARY KEY (borough_id, quarter)
);
CREATE TABLE rollup_borough_quarter_delta (LIKE rollup_borough_quarter);

-- Per service area, supplier and borough.
CREATE TABLE rollup_area_supplier_borough (
    service_area_id TEXT NOT NULL,
    supplier_id     TEXT NOT NULL,
    borough_id      TEXT NOT NULL,
    contracts       BIGINT NOT NULL,
    PRIMARY KEY (service_area_id, supplier_id, borough_id)
);
CREATE TABLE rollup_area_supplier_borough_delta (LIKE rollup_area_supplier_borough);

-- What one contract adds to (sign 1) or takes from (sign -1) the rollups keyed without areas.
CREATE FUNCTION rollup_contract(c contracts, sign INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_borough_supplier_delta VALUES (
        c.borough_id, c.supplier_id, sign,
        sign * coalesce(c.satisfaction, 0), sign * (c.satisfaction IS NOT NULL)::int,
        sign * coalesce(c.value_for_money, 0), sign * (c.value_for_money IS NOT NULL)::int,
        sign * (c.data_access = 'included')::int, sign * (c.data_access = 'charged')::int,
        sign * (c.data_access = 'unavailable')::int, sign * (c.data_access = 'unknown')::int);
    IF c.system_id IS NOT NULL THEN
        INSERT INTO rollup_borough_system_delta VALUES (c.borough_id, c.supplier_id, c.system_id, sign);
    END IF;
    IF c.end_date IS NOT NULL THEN
        INSERT INTO rollup_borough_quarter_delta VALUES (
            c.borough_id, date_trunc('quarter', c.end_date)::date, sign,
            sign * coalesce(c.annual_value_gbp, 0), sign * (c.annual_value_gbp IS NOT NULL)::int);
    END IF;
END;
$$;

-- What one contract's service areas add to or take from the area rollup.
CREATE FUNCTION rollup_contract_areas(c contracts, sign INTEGER) RETURNS void LANGUAGE sql AS $$
    INSERT INTO rollup_area_supplier_borough_delta
    SELECT csa.service_area_id, c.supplier_id, c.borough_id, sign
    FROM contract_service_areas csa WHERE csa.contract_id = c.id;
$$;

CREATE FUNCTION contracts_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A new contract has no service areas yet: their rows add themselves.
        PERFORM rollup_contract(NEW, 1);
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM rollup_contract(OLD, -1);
        PERFORM rollup_contract(NEW, 1);
        IF OLD.borough_id IS DISTINCT FROM NEW.borough_id
            OR OLD.supplier_id IS DISTINCT FROM NEW.supplier_id THEN
            PERFORM rollup_contract_areas(OLD, -1);
            PERFORM rollup_contract_areas(NEW, 1);
        END IF;
        RETURN NULL;
    END IF;
    -- BEFORE DELETE: the service areas are still there to be taken away; their rows, deleted
    -- by the cascade afterwards, no longer find the contract and change nothing.
    PERFORM rollup_contract(OLD, -1);
    PERFORM rollup_contract_areas(OLD, -1);
    RETURN OLD;
END;
$$;
CREATE TRIGGER contracts_rollup AFTER INSERT ON contracts
    FOR EACH ROW EXECUTE FUNCTION contracts_rollup();
CREATE TRIGGER contracts_rollup_update AFTER UPDATE ON contracts
    FOR EACH ROW
    WHEN (OLD.borough_id IS DISTINCT FROM NEW.borough_id
        OR OLD.supplier_id IS DISTINCT FROM NEW.supplier_id
        OR OLD.system_id IS DISTINCT FROM NEW.system_id
        OR OLD.end_date IS DISTINCT FROM NEW.end_date
        OR OLD.annual_value_gbp IS DISTINCT FROM NEW.annual_value_gbp
        OR OLD.satisfaction IS DISTINCT FROM NEW.satisfaction
        OR OLD.value_for_money IS DISTINCT FROM NEW.value_for_money
        OR OLD.data_access IS DISTINCT FROM NEW.data_access)
    EXECUTE FUNCTION contracts_rollup();
CREATE TRIGGER contracts_rollup_delete BEFORE DELETE ON contracts
    FOR EACH ROW EXECUTE FUNCTION contracts_rollup();

CREATE FUNCTION contract_service_areas_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO rollup_area_supplier_borough_delta
        SELECT OLD.service_area_id, c.supplier_id, c.borough_id, -1
        FROM contracts c WHERE c.id = OLD.contract_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO rollup_area_supplier_borough_delta
        SELECT NEW.service_area_id, c.supplier_id, c.borough_id, 1
        FROM contracts c WHERE c.id = NEW.contract_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER contract_service_areas_rollup AFTER INSERT OR UPDATE OR DELETE ON contract_service_areas
    FOR EACH ROW EXECUTE FUNCTION contract_service_areas_rollup();

-- Folds the deltas into the totals. Compactions take turns (an advisory lock), and each moves
-- only the deltas it deleted, so deltas appended meanwhile wait for the next one. With no
-- deltas it returns at once, so calling it often costs nothing while nobody writes.
CREATE FUNCTION rollup_compact() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM rollup_borough_supplier_delta)
        AND NOT EXISTS (SELECT 1 FROM rollup_borough_system_delta)
        AND NOT EXISTS (SELECT 1 FROM rollup_borough_quarter_delta)
        AND NOT EXISTS (SELECT 1 FROM rollup_area_supplier_borough_delta) THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(7306916068379881075);
    WITH moved AS (DELETE FROM rollup_borough_supplier_delta RETURNING *)
    INSERT INTO rollup_borough_supplier AS r
    SELECT borough_id, supplier_id, sum(contracts), sum(satisfaction_sum), sum(satisfaction_n),
        sum(value_for_money_sum), sum(value_for_money_n), sum(data_included), sum(data_charged),
        sum(data_unavailable), sum(data_unknown)
    FROM moved GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (borough_id, supplier_id) DO UPDATE SET
        contracts = r.contracts + EXCLUDED.contracts,
        satisfaction_sum = r.satisfaction_sum + EXCLUDED.satisfaction_sum,
        satisfaction_n = r.satisfaction_n + EXCLUDED.satisfaction_n,
        value_for_money_sum = r.value_for_money_sum + EXCLUDED.value_for_money_sum,
        value_for_money_n = r.value_for_money_n + EXCLUDED.value_for_money_n,
        data_included = r.data_included + EXCLUDED.data_included,
        data_charged = r.data_charged + EXCLUDED.data_charged,
        data_unavailable = r.data_unavailable + EXCLUDED.data_unavailable,
        data_unknown = r.data_unknown + EXCLUDED.data_unknown;
    DELETE FROM rollup_borough_supplier WHERE contracts = 0;

    WITH moved AS (DELETE FROM rollup_borough_system_delta RETURNING *)
    INSERT INTO rollup_borough_system AS r
    SELECT borough_id, supplier_id, system_id, sum(contracts)
    FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (borough_id, supplier_id, system_id) DO UPDATE SET
        contracts = r.contracts + EXCLUDED.contracts;
    DELETE FROM rollup_borough_system WHERE contracts = 0;

    WITH moved AS (DELETE FROM rollup_borough_quarter_delta RETURNING *)
    INSERT INTO rollup_borough_quarter AS r
    SELECT borough_id, quarter, sum(contracts), sum(annual_value), sum(annual_values)
    FROM moved GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (borough_id, quarter) DO UPDATE SET
        contracts = r.contracts + EXCLUDED.contracts,
        annual_value = r.annual_value + EXCLUDED.annual_value,
        annual_values = r.annual_values + EXCLUDED.annual_values;
    DELETE FROM rollup_borough_quarter WHERE contracts = 0;

    WITH moved AS (DELETE FROM rollup_area_supplier_borough_delta RETURNING *)
    INSERT INTO rollup_area_supplier_borough AS r
    SELECT service_area_id, supplier_id, borough_id, sum(contracts)
    FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (service_area_id, supplier_id, borough_id) DO UPDATE SET
        contracts = r.contracts + EXCLUDED.contracts;
    DELETE FROM rollup_area_supplier_borough WHERE contracts = 0;
END;
$$;

-- Recomputes every total from the contracts (after a bulk load with the triggers off).
CREATE FUNCTION rollup_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7306916068379881075);
    TRUNCATE rollup_borough_supplier, rollup_borough_supplier_delta,
        rollup_borough_system, rollup_borough_system_delta,
        rollup_borough_quarter, rollup_borough_quarter_delta,
        rollup_area_supplier_borough, rollup_area_supplier_borough_delta;
    INSERT INTO rollup_borough_supplier
    SELECT borough_id, supplier_id, count(*), coalesce(sum(satisfaction), 0), count(satisfaction),
        coalesce(sum(value_for_money), 0), count(value_for_money),
        count(*) FILTER (WHERE data_access = 'included'),
        count(*) FILTER (WHERE data_access = 'charged'),
        count(*) FILTER (WHERE data_access = 'unavailable'),
        count(*) FILTER (WHERE data_access = 'unknown')
    FROM contracts GROUP BY 1, 2;
    INSERT INTO rollup_borough_system
    SELECT borough_id, supplier_id, system_id, count(*)
    FROM contracts WHERE system_id IS NOT NULL GROUP BY 1, 2, 3;
    INSERT INTO rollup_borough_quarter
    SELECT borough_id, date_trunc('quarter', end_date)::date, count(*),
        coalesce(sum(annual_value_gbp), 0), count(annual_value_gbp)
    FROM contracts WHERE end_date IS NOT NULL GROUP BY 1, 2;
    INSERT INTO rollup_area_supplier_borough
    SELECT csa.service_area_id, c.supplier_id, c.borough_id, count(*)
    FROM contract_service_areas csa JOIN contracts c ON c.id = csa.contract_id GROUP BY 1, 2, 3;
END;
$$;

CREATE FUNCTION contracts_rollup_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rollup_rebuild();
    RETURN NULL;
END;
$$;
CREATE TRIGGER contracts_rollup_truncate AFTER TRUNCATE ON contracts
    FOR EACH STATEMENT EXECUTE FUNCTION contracts_rollup_truncated();
CREATE TRIGGER contract_service_areas_rollup_truncate AFTER TRUNCATE ON contract_service_areas
    FOR EACH STATEMENT EXECUTE FUNCTION contracts_rollup_truncated();

SELECT rollup_rebuild();

-- Expertise reads a system's boroughs and their confidence from this index alone.
CREATE INDEX contracts_system_id_borough_id ON contracts (system_id, borough_id)
    INCLUDE (support_confidence, development_confidence);
