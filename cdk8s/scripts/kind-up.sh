#!/usr/bin/env bash
# make kind-up: the kind cluster from kind-config.yaml, the upstream operators at pinned versions,
# and the project's images built and loaded into the cluster. Idempotent: an existing cluster,
# release or image is reused or upgraded in place.
SCRIPT_NAME=kind-up
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ "${1:-}" == --check-tools ]]; then
  need_docker
  need_kind
  need_kubectl
  need_helm
  exit 0
fi

STRIMZI_VERSION="${STRIMZI_VERSION:-1.2.0}"
CNPG_VERSION="${CNPG_VERSION:-1.30.0}"
SPARK_OPERATOR_VERSION="${SPARK_OPERATOR_VERSION:-2.5.2}"

need_docker
need_kind
need_kubectl
need_helm

if "$KIND" get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
  say "cluster $KIND_CLUSTER exists"
else
  say "creating cluster $KIND_CLUSTER from kind-config.yaml"
  "$KIND" create cluster --name "$KIND_CLUSTER" --config "$ROOT/kind-config.yaml" --wait 120s
fi
"$KUBECTL" config use-context "kind-$KIND_CLUSTER" >/dev/null

# The platform namespace first: the operators are told to manage it.
"$KUBECTL" create namespace "$K8S_NAMESPACE" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null

say "Strimzi $STRIMZI_VERSION"
"$HELM" upgrade --install strimzi oci://quay.io/strimzi-helm/strimzi-kafka-operator --version "$STRIMZI_VERSION" \
  --namespace strimzi --create-namespace --set "watchNamespaces={$K8S_NAMESPACE}" --wait --timeout 10m

say "CloudNativePG $CNPG_VERSION"
"$KUBECTL" apply --server-side --force-conflicts \
  -f "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/release-${CNPG_VERSION%.*}/releases/cnpg-${CNPG_VERSION}.yaml"
"$KUBECTL" -n cnpg-system rollout status deployment/cnpg-controller-manager --timeout=10m

say "spark-operator $SPARK_OPERATOR_VERSION"
"$HELM" repo add spark-operator https://kubeflow.github.io/spark-operator --force-update >/dev/null
"$HELM" upgrade --install spark-operator spark-operator/spark-operator --version "$SPARK_OPERATOR_VERSION" \
  --namespace spark-operator --create-namespace \
  --set "spark.jobNamespaces={$K8S_NAMESPACE}" --set spark.serviceAccount.create=false --set spark.rbac.create=false \
  --wait --timeout 10m

# The project's images: the same list the charts reference (cdk8s/src/images.ts), each a target of
# its Dockerfile (the Node.js components share the root Dockerfile and its build stage).
while read -r dockerfile target image; do
  say "building $image ($dockerfile, target $target)"
  "$DOCKER" build -f "$ROOT/$dockerfile" --target "$target" -t "$image" "$ROOT"
  "$KIND" load docker-image "$image" --name "$KIND_CLUSTER"
done < <(node "$ROOT/cdk8s/dist/images.js")

say "ready: make deploy"
