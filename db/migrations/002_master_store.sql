-- The auditable master store: every accepted record, immutable, with its Kafka coordinates; the
-- current state of every patient; and what is needed to answer "as of any instant".
--
-- Requires track_commit_timestamp = on: a version's system time is its transaction's COMMIT
-- time (transaction-precise history, as in MariaDB's transaction_registry), so that AS OF T
-- returns exactly what was committed at T, also while several consumers commit concurrently.

CREATE SCHEMA IF NOT EXISTS ingest;

-- Identity: the one place a person's patient ID is decided. id_key = HMAC-SHA-256(secret,
-- normalized name | date of birth), UNIQUE: one identity, one row, one ID, forever.
-- patient_id is random (UUIDv4, 122 random bits), never derived from PHI. It carries no UNIQUE
-- index of its own: that index cost a third of the identity insert (measured: 24 → 16 µs a row)
-- to guard against a collision of probability ~1e-19 at a billion patients; the reverse lookup
-- (patient → records) goes through intake_log's patient index.
CREATE TABLE ingest.identity (
  id_key        bytea       PRIMARY KEY CHECK (octet_length(id_key) = 32),
  patient_id    uuid        NOT NULL DEFAULT gen_random_uuid(),
  name_norm     text        NOT NULL,
  date_of_birth date        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per ingest transaction; committed_at is filled from the commit timestamp after COMMIT
-- by ingest.stamp_commits() (until then ingest.commit_time() reads it on the fly).
CREATE TABLE ingest.ingest_txn (
  txid         xid8        PRIMARY KEY,
  committed_at timestamptz
);
CREATE INDEX ingest_txn_unstamped ON ingest.ingest_txn (txid) WHERE committed_at IS NULL;

-- Every accepted record, append-only. The payload is stored once, compressed by TOAST (lz4).
-- No b-tree on the Kafka coordinates: the fenced offset makes (topic, partition, offset) unique
-- by construction, and the only query by position (re-publishing after a takeover) reads a
-- recent range, which a BRIN index serves at almost no write cost.
CREATE TABLE ingest.intake_log (
  topic           text        NOT NULL,
  kafka_partition integer     NOT NULL,
  kafka_offset    bigint      NOT NULL,
  record_id       uuid        NOT NULL,
  patient_id      uuid        NOT NULL,
  event_time      timestamptz NOT NULL,
  produced_at     timestamptz NOT NULL,
  name            text        NOT NULL,
  date_of_birth   date        NOT NULL,
  favorite_color  text        NOT NULL,
  payload         text        COMPRESSION lz4,
  txid            xid8        NOT NULL
);
CREATE INDEX intake_log_position ON ingest.intake_log USING brin (kafka_partition, kafka_offset);
CREATE INDEX intake_log_patient ON ingest.intake_log (patient_id);

-- The newest record of each patient (by event time, then Kafka position): the state "now".
-- rev counts the changes of the state; the public store keeps it to make writes idempotent.
CREATE TABLE ingest.patient_state (
  patient_id      uuid        PRIMARY KEY,
  name            text        NOT NULL,
  date_of_birth   date        NOT NULL,
  favorite_color  text        NOT NULL,
  event_time      timestamptz NOT NULL,
  kafka_partition integer     NOT NULL,
  kafka_offset    bigint      NOT NULL,
  rev             integer     NOT NULL DEFAULT 1,
  txid            xid8        NOT NULL
);

-- Bad input, kept with its coordinates and a PHI-free reason code. It may hold PHI (the raw
-- value), which is why it lives here and not in logs.
CREATE TABLE ingest.rejected_record (
  topic           text        NOT NULL,
  kafka_partition integer     NOT NULL,
  kafka_offset    bigint      NOT NULL,
  reason          text        NOT NULL,
  raw_key         bytea,
  raw_value       bytea,
  produced_at     timestamptz NOT NULL,
  txid            xid8        NOT NULL,
  PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

-- The consumer's position per partition, committed with the batch it covers. next_offset is the
-- fence: a batch commits only if it starts where the previous one ended (compare-and-set).
-- published_offset: every record below it has reached the public store.
CREATE TABLE ingest.partition_offset (
  topic            text        NOT NULL,
  kafka_partition  integer     NOT NULL,
  next_offset      bigint      NOT NULL,
  published_offset bigint      NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, kafka_partition),
  CHECK (published_offset <= next_offset)
);

-- History cannot be changed: not by the application role (no grant), and not by mistake by an
-- owner (these triggers). ingest_txn rows may only go from unstamped to stamped, once.
CREATE FUNCTION ingest.forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ingest.% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION ingest.guard_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.committed_at IS NOT NULL OR NEW.txid <> OLD.txid THEN
    RAISE EXCEPTION 'ingest.ingest_txn rows are stamped once' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER intake_log_append_only BEFORE UPDATE OR DELETE ON ingest.intake_log
  FOR EACH ROW EXECUTE FUNCTION ingest.forbid_change();
CREATE TRIGGER intake_log_no_truncate BEFORE TRUNCATE ON ingest.intake_log
  FOR EACH STATEMENT EXECUTE FUNCTION ingest.forbid_change();
CREATE TRIGGER rejected_record_append_only BEFORE UPDATE OR DELETE ON ingest.rejected_record
  FOR EACH ROW EXECUTE FUNCTION ingest.forbid_change();
CREATE TRIGGER rejected_record_no_truncate BEFORE TRUNCATE ON ingest.rejected_record
  FOR EACH STATEMENT EXECUTE FUNCTION ingest.forbid_change();
CREATE TRIGGER ingest_txn_no_delete BEFORE DELETE ON ingest.ingest_txn
  FOR EACH ROW EXECUTE FUNCTION ingest.forbid_change();
CREATE TRIGGER ingest_txn_no_truncate BEFORE TRUNCATE ON ingest.ingest_txn
  FOR EACH STATEMENT EXECUTE FUNCTION ingest.forbid_change();
CREATE TRIGGER ingest_txn_stamp_once BEFORE UPDATE ON ingest.ingest_txn
  FOR EACH ROW EXECUTE FUNCTION ingest.guard_stamp();
