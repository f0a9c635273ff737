-- Which rejected records were re-sent to the intake topic (`intake-replay`, `make replay`), so
-- that a replay is idempotent: a record is replayed once, whatever the number of runs. Append-only
-- like the history it refers to.
CREATE TABLE ingest.replayed_reject (
  topic           text        NOT NULL,
  kafka_partition integer     NOT NULL,
  kafka_offset    bigint      NOT NULL,
  replayed_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, kafka_partition, kafka_offset),
  FOREIGN KEY (topic, kafka_partition, kafka_offset) REFERENCES ingest.rejected_record
);
CREATE TRIGGER replayed_reject_append_only BEFORE UPDATE OR DELETE ON ingest.replayed_reject
  FOR EACH ROW EXECUTE FUNCTION ingest.forbid_change();
CREATE TRIGGER replayed_reject_no_truncate BEFORE TRUNCATE ON ingest.replayed_reject
  FOR EACH STATEMENT EXECUTE FUNCTION ingest.forbid_change();

GRANT SELECT, INSERT (topic, kafka_partition, kafka_offset) ON ingest.replayed_reject TO ingest_app;
GRANT SELECT ON ingest.replayed_reject TO ingest_reader;
