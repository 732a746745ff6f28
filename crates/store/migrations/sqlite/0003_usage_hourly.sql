-- Hourly usage by source and model: period reports in whole-hour time zones read these
-- few rows instead of every 15-minute x agent x project bucket.
CREATE TABLE usage_hourly (
    hour            INTEGER NOT NULL,
    source          TEXT NOT NULL,
    model           TEXT NOT NULL,
    input           INTEGER NOT NULL,
    output          INTEGER NOT NULL,
    cache_read      INTEGER NOT NULL,
    cache_write     INTEGER NOT NULL,
    reasoning       INTEGER NOT NULL,
    cost_total      REAL NOT NULL,
    cost_reported   REAL NOT NULL,
    cost_computed   REAL NOT NULL,
    entries         INTEGER NOT NULL,
    unpriced        INTEGER NOT NULL,
    PRIMARY KEY (hour, source, model)
) WITHOUT ROWID;
INSERT INTO usage_hourly
SELECT (bucket / 3600000) * 3600000, source, model, sum(input), sum(output), sum(cache_read), sum(cache_write),
       sum(reasoning), sum(cost_total), sum(cost_reported), sum(cost_computed), sum(entries), sum(unpriced)
FROM usage_rollup GROUP BY 1, 2, 3;
