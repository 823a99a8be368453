-- The change feed: every write appends the entities it touched, in the write's own transaction.
-- Each API process polls it to refresh its in-memory search index, so a write made through one
-- replica reaches the others. Rows are pruned after a day.
CREATE TABLE change_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    entity TEXT NOT NULL CHECK (entity IN ('clinic', 'location', 'provider')),
    entity_id INTEGER NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX change_log_changed_at ON change_log (changed_at);
