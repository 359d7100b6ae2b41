DROP FUNCTION joint_procurement_spans(text[], text[], date, date, integer, integer);
DROP INDEX contract_service_areas_area_end_date;
