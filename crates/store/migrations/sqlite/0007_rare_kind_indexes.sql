-- Events of rare kinds (cron jobs and runs, task runs, gateway log lines) are listed on their
-- own by the dashboard; without an index that is a scan of every event. Partial indexes cost
-- nothing for the common kinds. Queries must name the kind as a literal to use them.
CREATE INDEX events_kind_cron_job ON events(ts) WHERE kind = 'cron.job';
CREATE INDEX events_kind_cron_run ON events(ts) WHERE kind = 'cron.run';
CREATE INDEX events_kind_task_run ON events(ts) WHERE kind = 'task.run';
CREATE INDEX events_kind_log ON events(ts) WHERE kind = 'log';
