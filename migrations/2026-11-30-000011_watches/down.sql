DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE decision_days;
DROP TABLE watch_cursor;
DROP TABLE watch_events;
DROP TABLE watches;
