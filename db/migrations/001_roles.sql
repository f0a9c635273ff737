-- Roles of the platform. Logins get their passwords from the deployment (CloudNativePG managed
-- roles on Kubernetes; trust on 127.0.0.1 for the local platform), never from this file.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ingest_app') THEN
    CREATE ROLE ingest_app LOGIN;      -- the consumer: appends records, maintains current state
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ingest_reader') THEN
    CREATE ROLE ingest_reader LOGIN;   -- analysts and exports: read-only, AS OF queries
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon_writer') THEN
    CREATE ROLE anon_writer LOGIN;     -- the public-store adapter on PostgreSQL: anon schema only
  END IF;
END
$$;
