-- The whole City Tools model: boroughs, a two-level service-area tree, suppliers with aliases,
-- systems with their service areas, contracts with their service areas and assessment fields.

-- Every record carries a version that changes on every write and the time of that write.
CREATE FUNCTION bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE boroughs (
    id                     TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(id) <= 100),
    gss_code               TEXT NOT NULL UNIQUE CHECK (gss_code ~ '^[ENSW][0-9]{8}$'),
    name                   TEXT NOT NULL CHECK (name <> ''),
    official_name          TEXT NOT NULL CHECK (official_name <> ''),
    kind                   TEXT NOT NULL
        CHECK (kind IN ('london_borough', 'royal_borough', 'city_council', 'city_corporation')),
    inner_london_statutory BOOLEAN NOT NULL,
    inner_london_ons       BOOLEAN NOT NULL,
    surveyed               BOOLEAN NOT NULL DEFAULT false,
    website                TEXT,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    version                INTEGER NOT NULL DEFAULT 1
);
CREATE TRIGGER boroughs_version BEFORE UPDATE ON boroughs
    FOR EACH ROW EXECUTE FUNCTION bump_version();

CREATE TABLE service_areas (
    id          TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(id) <= 100),
    name        TEXT NOT NULL CHECK (name <> ''),
    parent_id   TEXT REFERENCES service_areas (id) ON UPDATE CASCADE,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    version     INTEGER NOT NULL DEFAULT 1,
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX service_areas_parent_id ON service_areas (parent_id);
CREATE TRIGGER service_areas_version BEFORE UPDATE ON service_areas
    FOR EACH ROW EXECUTE FUNCTION bump_version();

-- The tree has two levels: a group's parent is null, an area's parent is a group.
CREATE FUNCTION check_service_area_depth() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM service_areas WHERE id = NEW.parent_id AND parent_id IS NOT NULL) THEN
            RAISE EXCEPTION 'service area % cannot have parent %: the parent is itself an area, not a group',
                NEW.id, NEW.parent_id USING ERRCODE = 'check_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM service_areas WHERE parent_id = NEW.id) THEN
            RAISE EXCEPTION 'service area % is a group with areas under it and cannot have a parent',
                NEW.id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER service_areas_depth BEFORE INSERT OR UPDATE ON service_areas
    FOR EACH ROW EXECUTE FUNCTION check_service_area_depth();

CREATE TABLE suppliers (
    id                     TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(id) <= 100),
    name                   TEXT NOT NULL CHECK (name <> ''),
    companies_house_number TEXT CHECK (companies_house_number ~ '^[A-Z0-9]{8}$'),
    website                TEXT,
    sme                    BOOLEAN,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    version                INTEGER NOT NULL DEFAULT 1
);
CREATE TRIGGER suppliers_version BEFORE UPDATE ON suppliers
    FOR EACH ROW EXECUTE FUNCTION bump_version();

-- Other spellings of a supplier's name seen in source data; `normalized` (lower case, no
-- punctuation or legal suffix) is what importers match on.
CREATE TABLE supplier_aliases (
    supplier_id TEXT NOT NULL REFERENCES suppliers (id) ON DELETE CASCADE ON UPDATE CASCADE,
    alias       TEXT NOT NULL CHECK (alias <> ''),
    normalized  TEXT NOT NULL CHECK (normalized <> ''),
    PRIMARY KEY (supplier_id, alias)
);
CREATE INDEX supplier_aliases_normalized ON supplier_aliases (normalized);

CREATE TABLE systems (
    id          TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(id) <= 100),
    name        TEXT NOT NULL CHECK (name <> ''),
    supplier_id TEXT NOT NULL REFERENCES suppliers (id) ON UPDATE CASCADE,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX systems_supplier_id ON systems (supplier_id);
CREATE TRIGGER systems_version BEFORE UPDATE ON systems
    FOR EACH ROW EXECUTE FUNCTION bump_version();

CREATE TABLE system_service_areas (
    system_id       TEXT NOT NULL REFERENCES systems (id) ON DELETE CASCADE ON UPDATE CASCADE,
    service_area_id TEXT NOT NULL REFERENCES service_areas (id) ON UPDATE CASCADE,
    PRIMARY KEY (system_id, service_area_id)
);
CREATE INDEX system_service_areas_service_area_id ON system_service_areas (service_area_id);

-- Systems and contracts are tagged with areas, never with groups: a group filter expands to
-- its areas, so a group tag would be counted twice or missed.
CREATE FUNCTION check_tagged_with_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM service_areas WHERE id = NEW.service_area_id AND parent_id IS NULL) THEN
        RAISE EXCEPTION '% is a service-area group; tag % with the areas under it',
            NEW.service_area_id, TG_TABLE_NAME USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER system_service_areas_area BEFORE INSERT OR UPDATE ON system_service_areas
    FOR EACH ROW EXECUTE FUNCTION check_tagged_with_area();

CREATE TABLE contracts (
    id                     BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    borough_id             TEXT NOT NULL REFERENCES boroughs (id) ON UPDATE CASCADE,
    supplier_id            TEXT NOT NULL REFERENCES suppliers (id) ON UPDATE CASCADE,
    system_id              TEXT REFERENCES systems (id) ON UPDATE CASCADE,
    title                  TEXT NOT NULL CHECK (title <> ''),
    start_date             DATE,
    end_date               DATE,
    max_end_date           DATE,
    annual_value_gbp       NUMERIC(14, 2) CHECK (annual_value_gbp >= 0),
    total_value_gbp        NUMERIC(14, 2) CHECK (total_value_gbp >= 0),
    hosting                TEXT NOT NULL DEFAULT 'unknown'
        CHECK (hosting IN ('on_premises', 'supplier_hosted', 'public_cloud', 'saas', 'hybrid', 'unknown')),
    procurement_route      TEXT NOT NULL DEFAULT 'unknown'
        CHECK (procurement_route IN ('open_tender', 'framework', 'direct_award', 'joint_procurement', 'unknown')),
    framework_name         TEXT,
    data_access            TEXT NOT NULL DEFAULT 'unknown'
        CHECK (data_access IN ('included', 'charged', 'unavailable', 'unknown')),
    source                 TEXT NOT NULL
        CHECK (source IN ('survey', 'open_data', 'manual', 'illustrative')),
    source_reference       TEXT,
    source_url             TEXT,
    satisfaction           SMALLINT CHECK (satisfaction BETWEEN 1 AND 5),
    value_for_money        SMALLINT CHECK (value_for_money BETWEEN 1 AND 5),
    support_confidence     SMALLINT CHECK (support_confidence BETWEEN 1 AND 5),
    development_confidence SMALLINT CHECK (development_confidence BETWEEN 1 AND 5),
    notes                  TEXT,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    version                INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT contracts_end_not_before_start CHECK (end_date >= start_date),
    CONSTRAINT contracts_max_end_not_before_end CHECK (max_end_date >= end_date),
    CONSTRAINT contracts_max_end_not_before_start CHECK (max_end_date >= start_date),
    CONSTRAINT contracts_source_reference_unique UNIQUE (source, source_reference)
);
CREATE INDEX contracts_borough_id_end_date ON contracts (borough_id, end_date);
CREATE INDEX contracts_supplier_id_end_date ON contracts (supplier_id, end_date);
CREATE INDEX contracts_system_id ON contracts (system_id);
CREATE INDEX contracts_end_date ON contracts (end_date);
CREATE INDEX contracts_start_date ON contracts (start_date);
CREATE INDEX contracts_annual_value_gbp ON contracts (annual_value_gbp);
CREATE TRIGGER contracts_version BEFORE UPDATE ON contracts
    FOR EACH ROW EXECUTE FUNCTION bump_version();

CREATE TABLE contract_service_areas (
    contract_id     BIGINT NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    service_area_id TEXT NOT NULL REFERENCES service_areas (id) ON UPDATE CASCADE,
    PRIMARY KEY (contract_id, service_area_id)
);
CREATE INDEX contract_service_areas_service_area_id ON contract_service_areas (service_area_id, contract_id);
CREATE TRIGGER contract_service_areas_area BEFORE INSERT OR UPDATE ON contract_service_areas
    FOR EACH ROW EXECUTE FUNCTION check_tagged_with_area();
