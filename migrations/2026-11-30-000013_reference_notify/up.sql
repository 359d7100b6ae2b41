-- Every write to a reference table notifies `citytools_reference`, so that each instance's
-- in-memory copy of their ids (src/db/reference.rs) is dropped whoever made the change: the
-- API of any instance, an import, a sync or a command. One notification per statement; a
-- transaction's repeated notifications reach listeners once, at commit.
CREATE FUNCTION citytools_reference_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('citytools_reference', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER boroughs_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON boroughs
    FOR EACH STATEMENT EXECUTE FUNCTION citytools_reference_changed();
CREATE TRIGGER service_areas_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service_areas
    FOR EACH STATEMENT EXECUTE FUNCTION citytools_reference_changed();
CREATE TRIGGER suppliers_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON suppliers
    FOR EACH STATEMENT EXECUTE FUNCTION citytools_reference_changed();
CREATE TRIGGER systems_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON systems
    FOR EACH STATEMENT EXECUTE FUNCTION citytools_reference_changed();
