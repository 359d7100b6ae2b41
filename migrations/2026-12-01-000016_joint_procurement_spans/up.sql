-- Joint procurement without reading every (area, contract) pair in end-date order. Groups are
-- greedy windows: each starts at the earliest end date not yet grouped and takes every end date
-- up to `window_months` after it, so a group's first end date is found by one index probe (the
-- first end date after the last group's window) and so is its last; whether it has enough
-- distinct boroughs, by a probe per borough needed beyond the first. At a million contracts that is a few
-- thousand probes instead of sorting 1.1 million rows.
CREATE INDEX contract_service_areas_area_end_date
    ON contract_service_areas (service_area_id, end_date) INCLUDE (borough_id, annual_value_gbp);

-- Every group (ended ones too) of the service-area rows in `areas` (null: every area), of
-- `boroughs` (null: all), ending from `ends_after` to `ends_before` (null: unbounded), with at
-- least `min_boroughs` distinct boroughs: its area and first and last end dates.
CREATE FUNCTION joint_procurement_spans(
    areas text[], boroughs text[], ends_after date, ends_before date,
    window_months integer, min_boroughs integer)
RETURNS TABLE (service_area_id text, first_end_date date, last_end_date date)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_area text;
    v_first date;
    v_limit date;
    v_last date;
    v_found text[];
    v_borough text;
    v_after date := coalesce(ends_after, '-infinity'::date);
    v_before date := coalesce(ends_before, 'infinity'::date);
BEGIN
    FOR v_area IN
        SELECT a.id FROM service_areas a WHERE areas IS NULL OR a.id = ANY(areas) ORDER BY a.id
    LOOP
        SELECT c.end_date, c.borough_id INTO v_first, v_borough FROM contract_service_areas c
        WHERE c.service_area_id = v_area AND c.end_date >= v_after AND c.end_date <= v_before
          AND (boroughs IS NULL OR c.borough_id = ANY(boroughs))
        ORDER BY c.end_date LIMIT 1;
        WHILE v_first IS NOT NULL LOOP
            v_limit := least((v_first + make_interval(months => window_months))::date, v_before);
            SELECT max(c.end_date) INTO v_last FROM contract_service_areas c
            WHERE c.service_area_id = v_area AND c.end_date >= v_first AND c.end_date <= v_limit
              AND (boroughs IS NULL OR c.borough_id = ANY(boroughs));
            v_found := ARRAY[v_borough];
            WHILE cardinality(v_found) < min_boroughs LOOP
                SELECT c.borough_id INTO v_borough FROM contract_service_areas c
                WHERE c.service_area_id = v_area AND c.end_date >= v_first AND c.end_date <= v_limit
                  AND (boroughs IS NULL OR c.borough_id = ANY(boroughs))
                  AND c.borough_id <> ALL(v_found)
                LIMIT 1;
                EXIT WHEN NOT FOUND;
                v_found := v_found || v_borough;
            END LOOP;
            IF cardinality(v_found) >= min_boroughs THEN
                service_area_id := v_area;
                first_end_date := v_first;
                last_end_date := v_last;
                RETURN NEXT;
            END IF;
            SELECT c.end_date, c.borough_id INTO v_first, v_borough FROM contract_service_areas c
            WHERE c.service_area_id = v_area AND c.end_date > v_limit AND c.end_date <= v_before
              AND (boroughs IS NULL OR c.borough_id = ANY(boroughs))
            ORDER BY c.end_date LIMIT 1;
        END LOOP;
    END LOOP;
END
$$;
