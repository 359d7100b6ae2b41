DROP INDEX contracts_title_trgm;
