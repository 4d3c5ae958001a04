-- Actor names are filtered on often (`actor.name=Ada Lovelace`, `actor.name=deploy-*`), also
-- by prefix (`text_pattern_ops` serves `LIKE 'prefix%'` in any collation). Covering the
-- time and outcome, it lets a histogram of a broad prefix (hundreds of thousands of events
-- over 30 days) be counted from the index alone instead of visiting every row.
CREATE INDEX IF NOT EXISTS events_actor_name_idx ON events (actor_name text_pattern_ops, occurred_at) INCLUDE (outcome);
