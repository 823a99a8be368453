-- Secrets the service makes for itself and every replica must share, such as the key that signs
-- search cursors (when none is configured). Written once, at the first start that needs one.
CREATE TABLE service_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
