-- Text search (`q`) matches words anywhere in a contract's title: a trigram index serves
-- `title ILIKE '%word%'` for words of three characters or more.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contracts_title_trgm ON contracts USING gin (title gin_trgm_ops);
