DROP TRIGGER systems_notify ON systems;
DROP TRIGGER suppliers_notify ON suppliers;
DROP TRIGGER service_areas_notify ON service_areas;
DROP TRIGGER boroughs_notify ON boroughs;
DROP FUNCTION citytools_reference_changed();
