# Point-in-time snapshots (docs/architecture.md §7): the PySpark export run locally, and the
# Spark it needs, installed into .local from PyPI (pyspark) and Maven Central (the PostgreSQL JDBC
# driver). Included by the root Makefile.
#
# PYSPARK_VERSION is the Spark of the image the SparkApplication runs (cdk8s/src/images.ts,
# SPARK_EXPORT.sparkVersion; a test holds them equal). Spark 4 runs on the machine's Java 17.

PYSPARK_VERSION ?= 4.0.1
PG_JDBC_VERSION ?= 42.7.8
SPARK_VENV := $(CURDIR)/.local/spark-venv
PG_JDBC_JAR := $(CURDIR)/.local/spark/jars/postgresql-$(PG_JDBC_VERSION).jar
SPARK_STAMP := $(SPARK_VENV)/.pyspark-$(PYSPARK_VERSION)

$(SPARK_STAMP):
	python3 -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/pip install --quiet --disable-pip-version-check pyspark==$(PYSPARK_VERSION)
	touch $@

$(PG_JDBC_JAR):
	mvn -q -B dependency:copy -Dartifact=org.postgresql:postgresql:$(PG_JDBC_VERSION):jar -DoutputDirectory=$(dir $@)

##@ Snapshots

.PHONY: spark
spark: $(SPARK_STAMP) $(PG_JDBC_JAR) ## Install pyspark (PYSPARK_VERSION) and the PostgreSQL JDBC driver into .local, once.

AS_OF ?=
SCOPE ?= public
OUT ?=
.PHONY: snapshot
snapshot: spark ## The PySpark export on the local platform: Parquet + manifest (AS_OF=<ISO-8601> SCOPE=public|master OUT=<dir>).
	@test -n "$(AS_OF)" -a -n "$(OUT)" || { echo "usage: make snapshot AS_OF=2026-12-02T14:00:00Z SCOPE=public|master OUT=<new directory>" >&2; exit 2; }
	SPARK_JDBC_JAR=$(PG_JDBC_JAR) SPARK_PYTHON=$(SPARK_VENV)/bin/python scripts/snapshot-export.sh \
	  --as-of "$(AS_OF)" --scope "$(SCOPE)" --out "$(OUT)"
