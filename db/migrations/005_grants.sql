-- Least privilege. The application role appends history and maintains current state; it can
-- neither update nor delete history, nor write commit times.
REVOKE ALL ON SCHEMA ingest FROM PUBLIC;
REVOKE ALL ON SCHEMA anon FROM PUBLIC;

GRANT USAGE ON SCHEMA ingest TO ingest_app, ingest_reader;
GRANT SELECT, INSERT ON ingest.identity, ingest.intake_log, ingest.rejected_record, ingest.ingest_txn TO ingest_app;
GRANT SELECT, INSERT, UPDATE ON ingest.patient_state, ingest.partition_offset TO ingest_app;
GRANT SELECT ON ALL TABLES IN SCHEMA ingest TO ingest_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ingest TO ingest_app, ingest_reader;
REVOKE EXECUTE ON FUNCTION ingest.stamp_commits() FROM PUBLIC, ingest_reader;

GRANT USAGE ON SCHEMA anon TO anon_writer, ingest_reader, ingest_app;
GRANT SELECT, INSERT, UPDATE ON anon.patient TO anon_writer;
GRANT SELECT ON anon.patient TO ingest_reader, ingest_app;
