# Kubernetes workflow (kind for development). Included by the root Makefile; the recipes live in
# cdk8s/scripts/ (each checks its tools and says which one is missing). See docs/kubernetes.md.

KIND_CLUSTER ?= clinical-ingest
K8S_NAMESPACE ?= clinical-ingest
DOCKER ?= docker
KIND ?= kind
KUBECTL ?= kubectl
HELM ?= $(if $(wildcard $(CURDIR)/.local/bin/helm),$(CURDIR)/.local/bin/helm,helm)
# Upstream operators, pinned (the CRDs the tests validate against are these versions).
STRIMZI_VERSION ?= 1.2.0
CNPG_VERSION ?= 1.30.0
SPARK_OPERATOR_VERSION ?= 2.5.2
# helm for `make helm` (built from the Go module proxy into .local/bin).
HELM_VERSION ?= v3.22.0
# The Kubernetes version helm lint/template check the chart against.
HELM_KUBE_VERSION ?= 1.34.0
K8S_ENV = KIND_CLUSTER=$(KIND_CLUSTER) K8S_NAMESPACE=$(K8S_NAMESPACE) DOCKER=$(DOCKER) KIND=$(KIND) KUBECTL=$(KUBECTL) HELM=$(HELM) \
	STRIMZI_VERSION=$(STRIMZI_VERSION) CNPG_VERSION=$(CNPG_VERSION) SPARK_OPERATOR_VERSION=$(SPARK_OPERATOR_VERSION)
CHART_DIR := charts/ingest-operator

##@ Kubernetes (kind)

.PHONY: kind-up
kind-up: ## kind cluster from kind-config.yaml, Strimzi/CloudNativePG/spark-operator (pinned), images built and loaded.
	@$(K8S_ENV) cdk8s/scripts/kind-up.sh --check-tools
	@$(MAKE) --no-print-directory build
	$(K8S_ENV) cdk8s/scripts/kind-up.sh

.PHONY: deploy
deploy: ## Apply the synthesized manifests in dependency order, waiting for the operators, Kafka and PostgreSQL.
	@$(K8S_ENV) cdk8s/scripts/deploy.sh --check-tools
	@# The NetworkPolicies allow egress to this cluster's API server addresses only.
	@cidrs="$$(KUBECTL=$(KUBECTL) cdk8s/scripts/api-server-cidrs.sh)"; \
	  $(MAKE) --no-print-directory synth $${cidrs:+K8S_API_SERVER_CIDRS=$$cidrs}
	$(K8S_ENV) cdk8s/scripts/deploy.sh

.PHONY: loadtest
loadtest: ## Run the in-cluster load-test Job (LOADTEST_COUNT records), stream its report, exit with its code.
	@$(K8S_ENV) cdk8s/scripts/loadtest.sh --check-tools
	@$(MAKE) --no-print-directory synth
	$(K8S_ENV) cdk8s/scripts/loadtest.sh

.PHONY: snapshot-export
snapshot-export: ## Export a snapshot on Kubernetes: a Snapshot the operator runs as a SparkApplication (AS_OF=<ISO-8601> SCOPE=public|master [SNAPSHOT_PATH=]).
	@$(K8S_ENV) cdk8s/scripts/deploy.sh --check-tools
	@test -n "$(AS_OF)" || { echo "usage: make snapshot-export AS_OF=2026-12-02T14:00:00Z SCOPE=public|master [SNAPSHOT_PATH=dir]" >&2; exit 2; }
	printf '%s' '{"apiVersion":"ingest.clinical.dev/v1alpha1","kind":"Snapshot","metadata":{"generateName":"export-","namespace":"$(K8S_NAMESPACE)"},"spec":{"asOf":"$(AS_OF)","scope":"$(or $(SCOPE),public)","destination":{"persistentVolumeClaim":{"claimName":"snapshots"},"path":"$(or $(SNAPSHOT_PATH),$(or $(SCOPE),public)-$(shell date -u +%Y%m%dT%H%M%SZ))"}}}' \
	  | $(KUBECTL) create -f - -o name
	@echo "follow it with: $(KUBECTL) get snapshots -n $(K8S_NAMESPACE) -w"

.PHONY: kind-down
kind-down: ## Delete the kind cluster (and its volumes).
	@$(K8S_ENV) cdk8s/scripts/kind-down.sh

.PHONY: chart
chart: build ## Regenerate charts/ingest-operator from the cdk8s output (never edit its generated files).
	node cdk8s/dist/helm-chart.js write

.PHONY: helm
helm: ## Build helm (HELM_VERSION, pinned) into .local/bin (go install from the Go module proxy), once.
	@test -x .local/bin/helm || { command -v go >/dev/null 2>&1 || { echo "error: go is required to build helm (or install helm yourself)" >&2; exit 1; }; \
	  echo "go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)"; GOBIN=$(CURDIR)/.local/bin go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); }

.PHONY: helm-check
helm-check: build ## helm lint and helm template of the chart; the rendering must equal the cdk8s output.
	@command -v $(HELM) >/dev/null 2>&1 || { echo "error: helm not found ($(HELM)): run make helm, or install helm" >&2; exit 1; }
	$(HELM) lint --strict --kube-version $(HELM_KUBE_VERSION) $(CHART_DIR)
	@mkdir -p .local
	$(HELM) template ingest-operator $(CHART_DIR) --namespace $(K8S_NAMESPACE) --include-crds --kube-version $(HELM_KUBE_VERSION) > .local/helm-template.yaml
	node cdk8s/dist/helm-chart.js compare .local/helm-template.yaml
