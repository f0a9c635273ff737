# Shared by the Kubernetes workflow scripts (make kind-up, deploy, loadtest, kind-down).
# Tools are taken from DOCKER, KIND, KUBECTL, HELM (defaults: the commands of those names).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MANIFESTS="$ROOT/cdk8s/dist-manifests"
DOCKER="${DOCKER:-docker}"
KIND="${KIND:-kind}"
KUBECTL="${KUBECTL:-kubectl}"
HELM="${HELM:-helm}"
KIND_CLUSTER="${KIND_CLUSTER:-clinical-ingest}"
K8S_NAMESPACE="${K8S_NAMESPACE:-clinical-ingest}"

# say, warn, die: the project's shell library.
source "$ROOT/scripts/lib.sh"

# need TOOL-VARIABLE-VALUE WHAT HOW: fail with a clear message when a tool is missing.
need() {
  local cmd="$1" what="$2" how="$3"
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found: $what is required. Install it ($how), or point the variable at it."
}
need_docker() {
  need "$DOCKER" "docker (DOCKER)" "https://docs.docker.com/engine/install/"
  "$DOCKER" info >/dev/null 2>&1 || die "docker is installed but its engine does not answer ('$DOCKER info' failed): start Docker"
}
need_kind() { need "$KIND" "kind (KIND)" "go install sigs.k8s.io/kind@latest, or https://kind.sigs.k8s.io/docs/user/quick-start/"; }
need_kubectl() { need "$KUBECTL" "kubectl (KUBECTL)" "https://kubernetes.io/docs/tasks/tools/"; }
need_helm() { need "$HELM" "helm (HELM)" "make helm, or https://helm.sh/docs/intro/install/"; }
need_manifests() { [[ -f "$MANIFESTS/namespace.k8s.yaml" ]] || die "no synthesized manifests in $MANIFESTS: run make synth"; }

kubectl_ns() { "$KUBECTL" -n "$K8S_NAMESPACE" "$@"; }

# apply CHART: server-side apply of one synthesized chart file.
apply_chart() {
  say "applying $1"
  "$KUBECTL" apply --server-side --force-conflicts --field-manager=clinical-ingest -f "$MANIFESTS/$1.k8s.yaml"
}
