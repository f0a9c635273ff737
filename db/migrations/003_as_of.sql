-- Point-in-time queries over the master store (docs/architecture.md §7).

-- The commit time of an ingest transaction, from PostgreSQL's commit timestamps.
CREATE FUNCTION ingest.commit_time(t xid8) RETURNS timestamptz
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN pg_xact_status(t) = 'committed'
              THEN pg_xact_commit_timestamp(((t::text)::bigint % 4294967296)::text::xid) END
$$;

-- Copies commit timestamps into ingest_txn, so that history outlives the server's own commit
-- timestamp retention. Runs with the owner's rights: the application role cannot write times.
CREATE FUNCTION ingest.stamp_commits() RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  WITH stamped AS (
    UPDATE ingest.ingest_txn x SET committed_at = ingest.commit_time(x.txid)
     WHERE x.committed_at IS NULL AND pg_xact_status(x.txid) = 'committed'
    RETURNING 1)
  SELECT count(*)::integer FROM stamped
$$;

-- Every patient's state as it was committed at instant `at`: the newest record (event time, then
-- Kafka position) among those whose transaction had committed by then.
CREATE FUNCTION ingest.patient_state_as_of(at timestamptz)
  RETURNS TABLE (patient_id uuid, name text, date_of_birth date, favorite_color text,
                 event_time timestamptz, kafka_partition integer, kafka_offset bigint)
  LANGUAGE sql STABLE AS $$
  SELECT DISTINCT ON (l.patient_id)
         l.patient_id, l.name, l.date_of_birth, l.favorite_color, l.event_time, l.kafka_partition, l.kafka_offset
    FROM ingest.intake_log l
    JOIN ingest.ingest_txn x ON x.txid = l.txid
   WHERE coalesce(x.committed_at, ingest.commit_time(x.txid)) <= at
   ORDER BY l.patient_id, l.event_time DESC, l.kafka_partition DESC, l.kafka_offset DESC
$$;

-- One patient's state at `at` (an index walk, newest first).
CREATE FUNCTION ingest.patient_as_of(pid uuid, at timestamptz)
  RETURNS TABLE (patient_id uuid, name text, date_of_birth date, favorite_color text,
                 event_time timestamptz, kafka_partition integer, kafka_offset bigint)
  LANGUAGE sql STABLE AS $$
  SELECT l.patient_id, l.name, l.date_of_birth, l.favorite_color, l.event_time, l.kafka_partition, l.kafka_offset
    FROM ingest.intake_log l
    JOIN ingest.ingest_txn x ON x.txid = l.txid
   WHERE l.patient_id = pid
     AND coalesce(x.committed_at, ingest.commit_time(x.txid)) <= at
   ORDER BY l.event_time DESC, l.kafka_partition DESC, l.kafka_offset DESC
   LIMIT 1
$$;

-- The public store's content at `at`: the projection of the master's state (patient ID and
-- favorite color, nothing else).
CREATE FUNCTION ingest.public_projection_as_of(at timestamptz)
  RETURNS TABLE (patient_id uuid, favorite_color text)
  LANGUAGE sql STABLE AS $$
  SELECT s.patient_id, s.favorite_color FROM ingest.patient_state_as_of(at) s
$$;
