DROP TABLE changes;
DROP TABLE api_keys;
