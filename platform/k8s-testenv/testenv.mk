# A real control plane (etcd, kube-apiserver, kube-controller-manager; no containers, no nodes)
# for the operator's end-to-end tests. Included by the root Makefile (`include platform/k8s-testenv/testenv.mk`).
# The binaries are built from the Go module proxy by platform/k8s-testenv/testenv.sh into .local/k8s/bin.

##@ Kubernetes test environment (local control plane)

.PHONY: k8s-build
k8s-build: ## Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl into .local/k8s/bin (needs Go; cold: tens of minutes).
	platform/k8s-testenv/testenv.sh build

.PHONY: k8s-up
k8s-up: k8s-build ## Start the local control plane on 127.0.0.1:16443; writes .local/k8s/kubeconfig (admin).
	platform/k8s-testenv/testenv.sh up

.PHONY: k8s-down
k8s-down: ## Stop the local control plane (data kept; platform/k8s-testenv/testenv.sh reset deletes it).
	platform/k8s-testenv/testenv.sh down

.PHONY: k8s-status
k8s-status: ## One line per control-plane server.
	platform/k8s-testenv/testenv.sh status

.PHONY: test-k8s
test-k8s: synth ## Operator end-to-end tests against the local control plane (make k8s-up) and Kafka (make up); builds and synthesizes first.
	npx vitest run --project k8s

.PHONY: nodes-build
nodes-build: ## Build kube-scheduler (with the control plane) and kwok into .local/k8s/bin.
	platform/k8s-testenv/testenv.sh nodes-build

.PHONY: scale-burst
scale-burst: build up k8s-up nodes-build ## The kwok demo (not in make test): a burst scales real consumer processes behind kwok pods; trace in reports/scale-burst/.
	platform/k8s-testenv/testenv.sh nodes-up
	npx vitest run --project scale-burst; rc=$$?; platform/k8s-testenv/testenv.sh nodes-down; exit $$rc
