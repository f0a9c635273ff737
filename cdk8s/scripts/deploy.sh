#!/usr/bin/env bash
# make deploy: the synthesized manifests, applied in dependency order, waiting for each operator and
# for Kafka and PostgreSQL to be ready. The Secrets are generated here when missing (never in git).
# Idempotent: server-side apply, and existing Secrets are kept.
SCRIPT_NAME=deploy
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ "${1:-}" == --check-tools ]]; then
  need_kubectl
  exit 0
fi
TIMEOUT="${DEPLOY_TIMEOUT:-15m}"

need_kubectl
need_manifests
need openssl "openssl" "your distribution's openssl package (it makes the operator's serving certificate)"
"$KUBECTL" version >/dev/null 2>&1 || die "no cluster answers '$KUBECTL version' (current context: $("$KUBECTL" config current-context 2>/dev/null || echo none)): run make kind-up"

# The operators this platform needs must run (make kind-up installs them).
for crd in kafkas.kafka.strimzi.io clusters.postgresql.cnpg.io sparkapplications.sparkoperator.k8s.io; do
  "$KUBECTL" get crd "$crd" >/dev/null 2>&1 || die "CRD $crd missing: install the upstream operators (make kind-up)"
done
"$KUBECTL" -n strimzi rollout status deployment/strimzi-cluster-operator --timeout="$TIMEOUT"
"$KUBECTL" -n cnpg-system rollout status deployment/cnpg-controller-manager --timeout="$TIMEOUT"

apply_chart namespace
apply_chart network
say "secrets (created when missing, kept otherwise)"
K8S_NAMESPACE="$K8S_NAMESPACE" KUBECTL="$KUBECTL" node "$ROOT/cdk8s/dist/secrets.js"

apply_chart kafka
say "waiting for Kafka"
kubectl_ns wait kafka --all --for=condition=Ready --timeout="$TIMEOUT"
kubectl_ns wait kafkatopic,kafkauser --all --for=condition=Ready --timeout="$TIMEOUT"

apply_chart postgres
say "waiting for PostgreSQL (initdb, then the migrations)"
kubectl_ns wait cluster.postgresql.cnpg.io --all --for=condition=Ready --timeout="$TIMEOUT"

apply_chart redis
[[ -f "$MANIFESTS/public-store.k8s.yaml" ]] && apply_chart public-store
apply_chart spark
kubectl_ns rollout status statefulset/redis --timeout="$TIMEOUT"
[[ -f "$MANIFESTS/public-store.k8s.yaml" ]] && kubectl_ns rollout status statefulset/public-store --timeout="$TIMEOUT"

apply_chart operator
# The APIService trusts the operator's serving certificate (generated above, never synthesized).
if "$KUBECTL" get apiservice v1beta1.external.metrics.k8s.io >/dev/null 2>&1; then
  ca="$(kubectl_ns get secret ingest-operator-tls -o jsonpath='{.data.tls\.crt}')"
  "$KUBECTL" patch apiservice v1beta1.external.metrics.k8s.io --type=merge -p "{\"spec\":{\"caBundle\":\"$ca\"}}" >/dev/null
fi
"$KUBECTL" wait crd/ingestpipelines.ingest.clinical.dev --for=condition=Established --timeout=2m
kubectl_ns rollout status deployment/ingest-operator --timeout="$TIMEOUT"

apply_chart pipeline
# Monitoring where the Prometheus Operator runs (its CRDs exist); otherwise say how to add it.
if "$KUBECTL" get crd podmonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com >/dev/null 2>&1; then
  apply_chart monitoring
else
  say "no Prometheus Operator in the cluster: monitoring.k8s.yaml (PodMonitors, alerts, dashboard) not applied; see docs/kubernetes.md"
fi
say "waiting for the operator to create the consumers"
for _ in $(seq 1 60); do kubectl_ns get deployment/intake-consumer >/dev/null 2>&1 && break; sleep 2; done
kubectl_ns rollout status deployment/intake-consumer --timeout="$TIMEOUT"
kubectl_ns get ingestpipelines,deployments,statefulsets,hpa
say "deployed: make loadtest"
