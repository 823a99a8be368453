-- The bootstrap key is marked by a flag, not by its name; a key's visible prefix need not be
-- unique (two configured keys may share their first characters).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_prefix_key;
CREATE INDEX api_keys_prefix ON api_keys (prefix);
ALTER TABLE api_keys ADD COLUMN bootstrap BOOLEAN NOT NULL DEFAULT FALSE;
-- Earlier bootstrap keys: named so, and not created by an admin key or the command line.
UPDATE api_keys SET bootstrap = TRUE
WHERE name = 'bootstrap'
  AND id::text NOT IN (SELECT target_id FROM audit_log WHERE action = 'api_key.create' AND actor_role <> 'system');
CREATE INDEX api_keys_bootstrap ON api_keys (bootstrap) WHERE bootstrap;
