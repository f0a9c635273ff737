"""The snapshot export: the master store (or its public projection) as committed at an instant,
written as Parquet with a manifest (docs/architecture.md section 7).

The same file runs locally (`make snapshot`, Spark in local mode) and on Kubernetes (the
SparkApplication that cdk8s synthesizes, or one the operator creates for a Snapshot resource).

What is exported is defined in one place, PostgreSQL's AS OF functions (db/migrations): the job
reads `ingest.patient_state_as_of(T)` (or `public_projection_as_of(T)`) over JDBC in parallel
partitions, each a range of patient IDs. A settled instant has one answer whatever snapshot of
the database reads it, so partitions read in separate transactions still add up to the exact state
at T. Partitions never overlap, and together they cover every patient ID.

Nothing about a record (no name, date of birth or ID) is printed: logs hold counts and instants.
Exit codes: 0 done, 1 failed, 2 a wrong argument or instant (said on stderr).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from urllib.parse import urlparse

COLUMNS = {
    "master": ["patient_id", "name", "date_of_birth", "favorite_color", "event_time", "kafka_partition", "kafka_offset"],
    "public": ["patient_id", "favorite_color"],
}
ISO_WITH_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$", re.I)


class UsageError(Exception):
    """A wrong argument or instant; the message holds only what the user gave."""


def patient_id_ranges(partitions: int) -> list[str]:
    """WHERE clauses splitting the UUID space into `partitions` contiguous ranges (no gap, no overlap)."""
    if partitions < 1:
        raise UsageError("--partitions must be at least 1")
    hexes = [f"{(i * (1 << 128)) // partitions:032x}" for i in range(1, partitions)]
    as_uuid = [f"'{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}'::uuid" for h in hexes]
    clauses = []
    for i in range(partitions):
        lo = f"patient_id >= {as_uuid[i - 1]}" if i > 0 else None
        hi = f"patient_id < {as_uuid[i]}" if i < partitions - 1 else None
        clauses.append(" AND ".join(c for c in (lo, hi) if c) or "true")
    return clauses


def source_query(scope: str, at_literal: str) -> str:
    fn = "ingest.public_projection_as_of" if scope == "public" else "ingest.patient_state_as_of"
    cols = ", ".join(COLUMNS[scope])
    return f"(SELECT {cols} FROM {fn}({at_literal}::timestamptz)) AS snapshot"


def sql_literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="snapshot_export", description=__doc__.split("\n\n")[0])
    p.add_argument("--as-of", required=True, help="the instant, ISO-8601 with a zone")
    p.add_argument("--scope", choices=["public", "master"], default="public")
    p.add_argument("--out", required=True, help="the output directory (must not exist)")
    local = f"jdbc:postgresql://127.0.0.1:{os.environ.get('PLATFORM_PG_PORT', '15432')}/clinical"  # platform/ports.env
    p.add_argument("--jdbc-url", default=os.environ.get("SNAPSHOT_JDBC_URL", local))
    p.add_argument("--user", default=os.environ.get("SNAPSHOT_DB_USER", "history_reader"))
    p.add_argument("--partitions", type=int, default=int(os.environ.get("SNAPSHOT_PARTITIONS", "4")))
    a = p.parse_args(argv)
    if not ISO_WITH_ZONE.match(a.as_of):
        raise UsageError(f"--as-of: not an ISO-8601 instant with a zone (Z or +hh:mm): {a.as_of}")
    return a


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    from pyspark.sql import SparkSession  # imported late: --help and argument errors need no JVM

    spark = (
        SparkSession.builder.appName("clinical-ingest-snapshot")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    props = {"user": a.user, "driver": "org.postgresql.Driver", "fetchsize": "10000"}
    if os.environ.get("SNAPSHOT_DB_PASSWORD"):
        props["password"] = os.environ["SNAPSHOT_DB_PASSWORD"]
    # Each JDBC session reads in UTC, so instants print the same everywhere.
    props["sessionInitStatement"] = "SET TimeZone = 'UTC'"

    def one_row(sql: str):
        return spark.read.jdbc(a.jdbc_url, f"({sql}) AS q", properties=props).collect()[0]

    at = sql_literal(a.as_of)
    try:
        check = one_row(
            f"SELECT {at}::timestamptz::text AS at, {at}::timestamptz > clock_timestamp() AS future, "
            "b.first_commit::text AS first, b.last_commit::text AS last, "
            f"{at}::timestamptz < b.first_commit AS before_first FROM ingest.history_bounds() b"
        )
    except Exception as e:  # noqa: BLE001 - the driver's message names the SQLSTATE, never a record
        if "22007" in str(e) or "22008" in str(e):
            raise UsageError(f"--as-of: PostgreSQL cannot read this instant: {a.as_of}") from None
        raise
    if check["future"]:
        raise UsageError(f"--as-of {a.as_of} is in the future: a snapshot is of committed history only")
    if check["first"] is None:
        raise UsageError("the master store holds no history yet: nothing to snapshot")
    if check["before_first"]:
        raise UsageError(f"--as-of {a.as_of} is before the first record (history begins at {check['first']})")
    # A settled instant stays settled; until it is (a commit at T still becoming visible), wait.
    for attempt in range(50):
        try:
            one_row(f"SELECT ingest.assert_settled({at}::timestamptz) AS ok")
            break
        except Exception as e:  # noqa: BLE001
            if "40001" not in str(e) or attempt == 49:
                raise
            time.sleep(0.1)

    started = time.time()
    df = spark.read.jdbc(a.jdbc_url, source_query(a.scope, at), predicates=patient_id_ranges(a.partitions), properties=props)
    df.write.mode("errorifexists").parquet(a.out)
    rows = spark.read.parquet(a.out).count()

    files = []
    local = urlparse(a.out).scheme in ("", "file")
    if local:
        root = urlparse(a.out).path
        for name in sorted(os.listdir(root)):
            if name.endswith(".parquet"):
                path = os.path.join(root, name)
                files.append({"path": name, "bytes": os.path.getsize(path), "sha256": sha256_of(path)})
    manifest = {
        "kind": "clinical-ingest.snapshot",
        "version": 1,
        "asOf": check["at"],
        "scope": a.scope,
        "patientId": None,
        "format": "parquet",
        "columns": COLUMNS[a.scope],
        "rows": rows,
        "files": files,
        "phi": a.scope == "master",
        "history": {"firstCommit": check["first"], "lastCommit": check["last"]},
        "createdAt": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "producer": "snapshot_export.py",
    }
    text = json.dumps(manifest, indent=2) + "\n"
    if local:
        with open(os.path.join(urlparse(a.out).path, "_manifest.json"), "w", encoding="utf-8") as f:
            f.write(text)
    # The last line of stdout, and the driver's termination message on Kubernetes, carry the
    # result the operator reports in the Snapshot's status: counts and the instant, no PHI.
    result = json.dumps({"rows": rows, "asOf": check["at"], "scope": a.scope, "seconds": round(time.time() - started, 1)})
    if os.path.exists("/dev/termination-log"):  # mounted by the kubelet; never created here
        with open("/dev/termination-log", "w", encoding="utf-8") as f:
            f.write(result)
    print(result, flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        print(f"snapshot_export: {e}", file=sys.stderr)
        sys.exit(2)
