-- The full-text index is derived data that catches up lazily (before a search, after an
-- import), so bulk ingest does not pay for tokenizing. `fts_seq` is the last indexed event.
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO store_meta (key, value) SELECT 'fts_seq', coalesce(max(seq), 0) FROM events;
