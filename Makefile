# Clinical ingest platform. `make` lists the targets.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec
.DEFAULT_GOAL := help

# Seed validation size and shape (override on the command line: make validate N=100000).
N ?= 1000000
SEED ?=
CONSUMERS ?= 2
PARTITIONS ?= 6
PUBLIC_STORE ?= dynamodb
export PARTITIONS PUBLIC_STORE CONSUMERS

NPM_STAMP := node_modules/.package-lock.json

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

$(NPM_STAMP): package.json package-lock.json $(wildcard */package.json)
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

.PHONY: install
install: $(NPM_STAMP) ## Install the npm workspaces (npm ci).

.PHONY: build
build: install ## Compile every package (tsc -b).
	npx tsc -b

.PHONY: test
test: build up ## Run every test: unit, then integration on the local platform (starts it).
	npx vitest run --project unit
	npx vitest run --project integration

.PHONY: test-unit
test-unit: build ## Unit tests only (no servers needed).
	npx vitest run --project unit

##@ Local platform

.PHONY: up
up: install ## Start Kafka, PostgreSQL, Redis and dynalite on 127.0.0.1 (installs what is missing).
	scripts/platform.sh up

.PHONY: down
down: stop ## Stop consumers and every server `make up` started.
	scripts/platform.sh down

.PHONY: status
status: ## Show what runs.
	-scripts/platform.sh status
	scripts/pipeline.sh status

.PHONY: reset
reset: stop ## Stop everything and delete all local data.
	scripts/platform.sh reset

.PHONY: start
start: build up ## Start CONSUMERS consumer processes on the PUBLIC_STORE (dynamodb|postgres).
	scripts/pipeline.sh restart $(CONSUMERS)

.PHONY: stop
stop: ## Stop the consumer processes (graceful).
	scripts/pipeline.sh stop

##@ The main job

.PHONY: demo
demo: ## Newcomer's tour: platform up, consumers started, the seed's validation, where things are.
	$(MAKE) --no-print-directory validate
	scripts/demo-summary.sh

.PHONY: validate
validate: start ## The seed's acceptance test: N records (default 1,000,000), PASS/FAIL, exit code.
	scripts/validate.sh --count $(N) $(if $(SEED),--seed $(SEED))

.PHONY: bench
bench: build up ## Benchmark: small and 20 KB records, CPU per record, freshness, vs raw COPY.
	scripts/bench.sh

##@ Kubernetes

.PHONY: synth
synth: build ## Synthesize every manifest with cdk8s into cdk8s/dist-manifests.
	cd cdk8s && node dist/main.js
