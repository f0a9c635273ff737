-- History that cannot be forged, and AS OF that never answers from a history it cannot see whole.
--
-- 1. Only the transaction that writes a record can be its transaction. The application role may
--    no longer name a txid: intake_log and rejected_record take theirs from the column default
--    (pg_current_xact_id()), and ingest_txn rows are registered by ingest.register_txn(), which
--    takes no argument and registers the calling transaction only. Commit times stay the owner's
--    (ingest.stamp_commits()).
-- 2. AS OF T answers only for a settled T: not in the future, not later than the query's snapshot,
--    and with no transaction that committed at or before T still invisible to the query (the
--    commit timestamp is taken just before a commit becomes visible). Otherwise it fails with
--    22023 (future) or 40001 (retry).
-- 3. A committed transaction whose commit time the server no longer keeps, and that was never
--    stamped, makes AS OF fail instead of silently dropping its records.

ALTER TABLE ingest.intake_log ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
ALTER TABLE ingest.rejected_record ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
ALTER TABLE ingest.ingest_txn ALTER COLUMN txid SET DEFAULT pg_current_xact_id();

REVOKE INSERT ON ingest.intake_log, ingest.rejected_record, ingest.ingest_txn FROM ingest_app;
GRANT INSERT (topic, kafka_partition, kafka_offset, record_id, patient_id, event_time, produced_at,
              name, date_of_birth, favorite_color, payload)
  ON ingest.intake_log TO ingest_app;
GRANT INSERT (topic, kafka_partition, kafka_offset, reason, raw_key, raw_value, produced_at)
  ON ingest.rejected_record TO ingest_app;

-- Registers the calling transaction as an ingest transaction (idempotent) and returns its id.
CREATE FUNCTION ingest.register_txn() RETURNS xid8
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  INSERT INTO ingest.ingest_txn (txid) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
  SELECT pg_current_xact_id();
$$;
REVOKE EXECUTE ON FUNCTION ingest.register_txn() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ingest.register_txn() TO ingest_app;

-- The commit time of an ingest transaction: NULL while it is in progress (or if it aborted); an
-- error if it committed but its time is no longer known (never stamped, past the server's horizon).
CREATE OR REPLACE FUNCTION ingest.commit_time(t xid8) RETURNS timestamptz
  LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  status text := pg_xact_status(t);
  at timestamptz;
BEGIN
  IF status = 'committed' THEN
    at := pg_xact_commit_timestamp(((t::text)::bigint % 4294967296)::text::xid);
  END IF;
  IF status IS NULL OR (status = 'committed' AND at IS NULL) THEN
    RAISE EXCEPTION 'the commit time of ingest transaction % is no longer known and was never stamped', t
      USING ERRCODE = 'data_corrupted',
            HINT = 'ingest.stamp_commits() must run (the consumers call it every second) before the server drops commit timestamps; restore ingest_txn.committed_at from a backup.';
  END IF;
  RETURN at;
END
$$;

-- Stamps what can be stamped and never fails on what cannot (AS OF reports those).
CREATE OR REPLACE FUNCTION ingest.stamp_commits() RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  WITH stamped AS (
    UPDATE ingest.ingest_txn x
       SET committed_at = pg_xact_commit_timestamp(((x.txid::text)::bigint % 4294967296)::text::xid)
     WHERE x.committed_at IS NULL AND pg_xact_status(x.txid) = 'committed'
       AND pg_xact_commit_timestamp(((x.txid::text)::bigint % 4294967296)::text::xid) IS NOT NULL
    RETURNING 1)
  SELECT count(*)::integer FROM stamped
$$;
REVOKE EXECUTE ON FUNCTION ingest.stamp_commits() FROM PUBLIC, ingest_reader;

-- Fails unless `at` is settled for the calling query (see 2. above); true otherwise.
CREATE FUNCTION ingest.assert_settled(at timestamptz) RETURNS boolean
  LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  -- Transactions that commit after the query's snapshot was taken are invisible to it, and their
  -- commit times are later than the moment it was taken: a READ COMMITTED statement takes its
  -- snapshot after statement_timestamp(), a REPEATABLE READ transaction after now().
  horizon timestamptz := CASE WHEN current_setting('transaction_isolation') = 'read committed'
                              THEN statement_timestamp() ELSE now() END;
  invisible timestamptz;
BEGIN
  IF at > clock_timestamp() THEN
    RAISE EXCEPTION 'AS OF %: the instant is in the future', at
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Ask for an instant in the past.';
  END IF;
  IF at > horizon THEN
    RAISE EXCEPTION 'AS OF %: not settled for this query (later than its snapshot)', at
      USING ERRCODE = 'serialization_failure', HINT = 'Retry the query.';
  END IF;
  SELECT min(pg_xact_commit_timestamp(((x::text)::bigint % 4294967296)::text::xid)) INTO invisible
    FROM pg_snapshot_xip(pg_current_snapshot()) AS x;
  IF invisible <= at THEN
    RAISE EXCEPTION 'AS OF %: not settled yet (a transaction committed by then is not visible yet)', at
      USING ERRCODE = 'serialization_failure', HINT = 'Retry the query.';
  END IF;
  RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION ingest.patient_state_as_of(at timestamptz)
  RETURNS TABLE (patient_id uuid, name text, date_of_birth date, favorite_color text,
                 event_time timestamptz, kafka_partition integer, kafka_offset bigint)
  LANGUAGE sql STABLE AS $$
  SELECT DISTINCT ON (l.patient_id)
         l.patient_id, l.name, l.date_of_birth, l.favorite_color, l.event_time, l.kafka_partition, l.kafka_offset
    FROM ingest.intake_log l
    JOIN ingest.ingest_txn x ON x.txid = l.txid
   WHERE (SELECT ingest.assert_settled(at)) -- an uncorrelated one-time filter: checked before any row
     AND coalesce(x.committed_at, ingest.commit_time(x.txid)) <= at
   ORDER BY l.patient_id, l.event_time DESC, l.kafka_partition DESC, l.kafka_offset DESC
$$;

CREATE OR REPLACE FUNCTION ingest.patient_as_of(pid uuid, at timestamptz)
  RETURNS TABLE (patient_id uuid, name text, date_of_birth date, favorite_color text,
                 event_time timestamptz, kafka_partition integer, kafka_offset bigint)
  LANGUAGE sql STABLE AS $$
  SELECT l.patient_id, l.name, l.date_of_birth, l.favorite_color, l.event_time, l.kafka_partition, l.kafka_offset
    FROM ingest.intake_log l
    JOIN ingest.ingest_txn x ON x.txid = l.txid
   WHERE (SELECT ingest.assert_settled(at)) -- an uncorrelated one-time filter: checked before any row
     AND l.patient_id = pid
     AND coalesce(x.committed_at, ingest.commit_time(x.txid)) <= at
   ORDER BY l.event_time DESC, l.kafka_partition DESC, l.kafka_offset DESC
   LIMIT 1
$$;

GRANT EXECUTE ON FUNCTION ingest.assert_settled(timestamptz) TO ingest_app, ingest_reader;
