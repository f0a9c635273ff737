-- The master store's epoch, which the identity cache (Redis) is namespaced by: it changes whenever
-- the database is not the one the cache was filled from. A new cluster has a new system
-- identifier; a point-in-time restore or a promoted standby writes a new WAL timeline; a database
-- dropped and restored from a dump has a new OID. Entries cached under another epoch are never
-- read, so a restored database cannot be handed patient IDs that no identity row holds.
CREATE FUNCTION ingest.cache_epoch() RETURNS text
  LANGUAGE sql VOLATILE AS $$
  SELECT (SELECT system_identifier FROM pg_control_system())::text
      || '.' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)
      || '.' || (SELECT oid FROM pg_database WHERE datname = current_database())::text
$$;
REVOKE EXECUTE ON FUNCTION ingest.cache_epoch() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ingest.cache_epoch() TO ingest_app, ingest_reader;
