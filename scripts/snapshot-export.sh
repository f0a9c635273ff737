#!/usr/bin/env bash
# Runs spark/snapshot_export.py in Spark's local mode against the local platform (make snapshot).
# Arguments go to the job. SPARK_PYTHON and SPARK_JDBC_JAR name the venv's python and the driver.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SPARK_PYTHON:?SPARK_PYTHON is not set (make spark installs it)}"
: "${SPARK_JDBC_JAR:?SPARK_JDBC_JAR is not set (make spark installs it)}"
# local[*]: as many executor threads as cores; the driver's heap holds nothing of the data.
export PYSPARK_SUBMIT_ARGS="--master local[*] --jars $SPARK_JDBC_JAR --driver-memory ${SPARK_DRIVER_MEMORY:-1g} pyspark-shell"
exec "$SPARK_PYTHON" spark/snapshot_export.py "$@"
