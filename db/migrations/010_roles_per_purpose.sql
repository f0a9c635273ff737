-- One role per purpose, each with only what it reads (docs/architecture.md §6).
--
-- ingest_reader (analysts) could read the identity table (normalized name + date of birth ->
-- patient ID) and the raw values of rejected records; the seed's validation and the snapshot
-- export used it. Now:
--   ingest_reader     analysts: history, current state, rejects without their raw values, the
--                     public store; AS OF functions. No identity table.
--   validation_reader the seed's validation (the load-test Job): identity keys and patient IDs
--                     only (no name, no date of birth), current colors, the public store.
--   history_reader    the snapshot export (migration 009).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'validation_reader') THEN
    CREATE ROLE validation_reader LOGIN;
  END IF;
END
$$;

REVOKE SELECT ON ingest.identity FROM ingest_reader;
REVOKE SELECT ON ingest.rejected_record FROM ingest_reader;
GRANT SELECT (topic, kafka_partition, kafka_offset, reason, produced_at, txid) ON ingest.rejected_record TO ingest_reader;

GRANT USAGE ON SCHEMA ingest, anon TO validation_reader;
GRANT SELECT (id_key, patient_id) ON ingest.identity TO validation_reader;
GRANT SELECT (patient_id, favorite_color, rev) ON ingest.patient_state TO validation_reader;
GRANT SELECT ON anon.patient TO validation_reader;
