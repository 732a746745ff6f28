-- Stable ids mostly repeat other columns of their row (session id, message id, tool call
-- id, request id). From now on such an id is stored with those values replaced by the
-- bytes 0x01-0x04 and `id_form = 1`; readers expand it (`stored_id.rs`). Rows written
-- before keep `id_form` NULL: their id is stored as it is. Adding a column rewrites nothing.
ALTER TABLE events ADD COLUMN id_form INTEGER;
