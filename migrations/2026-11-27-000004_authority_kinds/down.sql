ALTER TABLE boroughs DROP CONSTRAINT boroughs_kind_check;
ALTER TABLE boroughs ADD CONSTRAINT boroughs_kind_check CHECK (kind IN (
    'london_borough', 'royal_borough', 'city_council', 'city_corporation'
));
