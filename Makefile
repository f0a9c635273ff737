# Clinical ingest platform. `make` lists the targets.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec
.DEFAULT_GOAL := help

# Seed validation size and shape (override on the command line: make validate N=100000).
N ?= 1000000
# Arrival rate of the validation's producer, records/s: the product's 1,000,000 a minute plus 5 %
# (`RATE=unlimited` produces as fast as the producer can, a stress test rather than the spec).
RATE ?= 17500
SEED ?=
CONSUMERS ?= 2
PARTITIONS ?= 6
PUBLIC_STORE ?= dynamodb
# dynalite (the local DynamoDB API) shares the machine's cores and carries less than the full rate
# (README, Performance): the demo's DynamoDB-API leg measures what this machine carries and paces
# itself to 70 % of it (`--rate carried`), with at most DEMO_DYNAMODB_N records.
DEMO_DYNAMODB_N ?= 100000
# The demo starts from empty stores, as on a fresh machine: each run then measures the same thing,
# and its DynamoDB-API leg does not first backfill every patient of earlier runs into dynalite
# (≈ 1,000 writes a second on a two-core box: more than an hour after a day of benches).
# DEMO_KEEP_DATA=1 keeps the local data (and pays for that backfill when the public store changes).
DEMO_KEEP_DATA ?=
# Records per scenario of the fault suite (`make chaos`; `make test` runs it with 10,000).
CHAOS_RECORDS ?= 20000
export PARTITIONS PUBLIC_STORE CONSUMERS

NPM_STAMP := node_modules/.package-lock.json

# The local ports (platform/ports.env; one set in the environment wins) and the endpoints the local
# platform serves on them (scripts/platform.sh env), exported to every process a target starts.
PORT_VARS := $(shell sed -n 's/^\([A-Z0-9_]*\)=\([0-9]*\)$$/\1=\2/p' platform/ports.env)
$(foreach kv,$(PORT_VARS),$(eval $(firstword $(subst =, ,$(kv))) ?= $(lastword $(subst =, ,$(kv))))$(eval export $(firstword $(subst =, ,$(kv)))))
ENDPOINT_VARS := $(shell scripts/platform.sh env | sed -n 's/^export \(KAFKA_BROKERS\|[A-Z_]*DATABASE_URL\|REDIS_URL\|REDIS_TLS_URL\|LOCAL_TLS_CA\|DYNAMODB_ENDPOINT\)=/\1=/p')
$(foreach kv,$(ENDPOINT_VARS),$(eval $(firstword $(subst =, ,$(kv))) ?= $(patsubst $(firstword $(subst =, ,$(kv)))=%,%,$(kv)))$(eval export $(firstword $(subst =, ,$(kv)))))

include mk/node.mk

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

$(NPM_STAMP): package.json package-lock.json $(wildcard */package.json) patches/kafkajs+2.2.4.patch $(NODE_BIN)/node
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

.PHONY: install
install: $(NPM_STAMP) ## Install the npm workspaces (npm ci).

.PHONY: build
build: install ## Compile every package (tsc -b).
	npx tsc -b

.PHONY: test
test: build up k8s-up spark ## Every test: unit; integration on the local platform; the operator on a local control plane; the fault suite.
	npx vitest run --project unit
	npx vitest run --project integration
	$(MAKE) --no-print-directory test-k8s
	$(MAKE) --no-print-directory chaos CHAOS_RECORDS=10000

.PHONY: lint
lint: build ## The lint gate: type-check sources and tests, typescript-eslint (type-checked rules), prettier.
	npx tsc -p tsconfig.eslint.json
	npx eslint .
	npx prettier --check "**/*.{ts,js,mjs}"

.PHONY: format
format: install ## Format the code with prettier (what make lint checks).
	npx prettier --write "**/*.{ts,js,mjs}"

.PHONY: test-unit
test-unit: build ## Unit tests only (no servers needed).
	npx vitest run --project unit

##@ Local platform

.PHONY: up
up: install ## Start Kafka, PostgreSQL, Redis and dynalite on 127.0.0.1 (installs what is missing).
	scripts/platform.sh up

.PHONY: down
down: stop ## Stop consumers, every server `make up` started, Prometheus (make observe), and the local control plane.
	scripts/observe.sh down
	scripts/platform.sh down
	platform/k8s-testenv/testenv.sh down

.PHONY: status
status: ## Show what runs.
	-scripts/platform.sh status
	scripts/pipeline.sh status

.PHONY: reset
reset: stop ## Stop everything and delete all local data.
	scripts/platform.sh reset
	rm -f .local/run/public-store.kind  # which public store the consumers kept current: none now

.PHONY: start
start: build up ## Start CONSUMERS consumer processes on the PUBLIC_STORE (dynamodb|postgres).
	scripts/pipeline.sh restart $(CONSUMERS)

.PHONY: stop
stop: ## Stop the consumer processes (graceful).
	scripts/pipeline.sh stop

##@ The main job

.PHONY: demo
demo: ## The main job from empty stores (make reset first; DEMO_KEEP_DATA=1 keeps the data): the seed's validation on both public stores, a summary.
ifeq ($(DEMO_KEEP_DATA),)
	@echo "demo: starting from empty stores, as on a fresh machine: make reset deletes the local data under .local/ (DEMO_KEEP_DATA=1 keeps it)"
	$(MAKE) --no-print-directory reset
endif
	$(MAKE) --no-print-directory validate PUBLIC_STORE=dynamodb N=$(DEMO_DYNAMODB_N) RATE=carried
	$(MAKE) --no-print-directory validate PUBLIC_STORE=postgres N=1000000 RATE=17500
	scripts/demo-summary.sh

.PHONY: validate
validate: start ## The seed's acceptance test: N records (default 1,000,000), PASS/FAIL, exit code.
	scripts/validate.sh --count $(N) --rate $(RATE) $(if $(SEED),--seed $(SEED))

.PHONY: bench
bench: build up ## Benchmark: small and 20 KB records, CPU per record, freshness, vs raw COPY.
	scripts/bench.sh

.PHONY: bench-floor
bench-floor: up ## PostgreSQL's own cost of one new patient's rows at the database's size (rolled back), vs a heap-only insert.
	scripts/bench-floor.sh

.PHONY: bench-snapshots
bench-snapshots: build up ## Benchmark point-in-time snapshots against a COPY of the current state (SNAPSHOT_BENCH_PATIENTS, default 1M).
	node testkit/dist/bench/snapshots.js

##@ Operations

.PHONY: chaos
chaos: build up ## The fault suite: kill -9, restarts, flush, rebalance storm, rollback, poison mix; exact counts.
	CHAOS_RECORDS=$(CHAOS_RECORDS) node testkit/dist/chaos/main.js

.PHONY: observe
observe: build up ## Prometheus on 127.0.0.1:19090 with the alert rules, scraping the running consumers (make start; an operator: scripts/observe.sh targets).
	scripts/observe.sh up
	scripts/observe.sh targets intake-consumer $$(scripts/pipeline.sh metrics-urls | sed -E 's#^http://([^/]+)/.*#\1#')
	@echo "open $$(scripts/observe.sh url)/alerts and /graph; the dashboard: node cdk8s/dist/monitoring/cli.js dashboard (import into Grafana)"

.PHONY: replay
replay: build ## Re-send rejected records to the intake topic, once (REASON=, PARTITION=, FROM=, TO=, LIMIT=, DRY_RUN=1).
	node consumer/dist/replay-main.js $(foreach r,$(REASON),--reason $(r)) $(foreach p,$(PARTITION),--partition $(p)) \
	  $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(if $(LIMIT),--limit $(LIMIT)) $(if $(DRY_RUN),--dry-run)

##@ Kubernetes

.PHONY: synth
synth: build ## Synthesize every manifest with cdk8s into cdk8s/dist-manifests.
	cd cdk8s && node dist/main.js

include mk/snapshot.mk
include mk/operator.mk
include mk/kubernetes.mk
include platform/k8s-testenv/testenv.mk
