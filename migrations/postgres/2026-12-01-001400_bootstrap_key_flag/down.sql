DROP INDEX IF EXISTS api_keys_bootstrap;
ALTER TABLE api_keys DROP COLUMN bootstrap;
DROP INDEX IF EXISTS api_keys_prefix;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_prefix_key UNIQUE (prefix);
