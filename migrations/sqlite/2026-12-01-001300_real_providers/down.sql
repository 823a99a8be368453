-- Not reversible in place: restore from a backup taken before the migration.
SELECT 1;
