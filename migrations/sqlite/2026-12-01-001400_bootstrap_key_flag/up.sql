-- The bootstrap key is marked by a flag, not by its name; a key's visible prefix need not be
-- unique (two configured keys may share their first characters). SQLite cannot drop a UNIQUE
-- column constraint, so the table is rebuilt (https://sqlite.org/lang_altertable.html, "other
-- kinds of table schema changes"), with foreign keys off while audit_log's reference is re-pointed.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE api_keys_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'partner')),
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    bootstrap BOOLEAN NOT NULL DEFAULT 0   -- registered from CLINIC_FINDER_ADMIN_KEY at start-up
);
INSERT INTO api_keys_new (id, name, role, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at, bootstrap)
SELECT id, name, role, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at,
       -- Earlier bootstrap keys: named so, and not created by an admin key or the command line.
       name = 'bootstrap' AND CAST(id AS TEXT) NOT IN (
           SELECT target_id FROM audit_log WHERE action = 'api_key.create' AND actor_role <> 'system')
FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
CREATE INDEX api_keys_prefix ON api_keys (prefix);
CREATE INDEX api_keys_bootstrap ON api_keys (bootstrap) WHERE bootstrap;
COMMIT;
PRAGMA foreign_keys = ON;
