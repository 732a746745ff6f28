-- Indexes the alert engine's steady-state reads need: a target's pause history
-- (auto-pause reconciliation), the outbox listing by creation time, and resolved
-- alerts by resolve time (cooldowns after a restart).
CREATE INDEX alert_actions_target ON alert_actions(target, id);
CREATE INDEX alert_deliveries_created ON alert_deliveries(created_ms);
CREATE INDEX alerts_resolved ON alerts(resolved_ms) WHERE state = 'resolved';
