-- Authorities beyond London (for UK-scale data): the other kinds of principal council.
ALTER TABLE boroughs DROP CONSTRAINT boroughs_kind_check;
ALTER TABLE boroughs ADD CONSTRAINT boroughs_kind_check CHECK (kind IN (
    'london_borough', 'royal_borough', 'city_council', 'city_corporation',
    'county_council', 'district_council', 'unitary_authority', 'metropolitan_borough'
));
