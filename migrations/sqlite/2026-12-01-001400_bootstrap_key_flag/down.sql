PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE api_keys_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'partner')),
    prefix TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP
);
INSERT INTO api_keys_old (id, name, role, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at)
SELECT id, name, role, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_old RENAME TO api_keys;
COMMIT;
PRAGMA foreign_keys = ON;
