#!/usr/bin/env bash
# make loadtest: runs the load-test Job (loadgen's validation inside the cluster), streams its
# report, and exits with the Job's exit code (0 PASS, 1 FAIL). Idempotent: a previous run's Job is
# deleted first (a Job cannot be re-run in place).
SCRIPT_NAME=loadtest
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ "${1:-}" == --check-tools ]]; then
  need_kubectl
  exit 0
fi
JOB=intake-loadtest

need_kubectl
need_manifests
"$KUBECTL" version >/dev/null 2>&1 || die "no cluster answers '$KUBECTL version': run make kind-up and make deploy"

kubectl_ns delete job "$JOB" --ignore-not-found --wait=true >/dev/null
apply_chart loadtest
say "waiting for the validation to start"
kubectl_ns wait pod -l "job-name=$JOB" --for=condition=Ready --timeout=5m >/dev/null 2>&1 ||
  kubectl_ns wait pod -l "job-name=$JOB" --for=jsonpath='{.status.phase}'=Succeeded --timeout=10s >/dev/null 2>&1 ||
  kubectl_ns wait pod -l "job-name=$JOB" --for=jsonpath='{.status.phase}'=Failed --timeout=10s >/dev/null 2>&1 || true
kubectl_ns logs -f "job/$JOB" || true
for _ in $(seq 1 60); do
  code="$(kubectl_ns get pod -l "job-name=$JOB" -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}' 2>/dev/null || true)"
  [[ -n "$code" ]] && break
  sleep 2
done
[[ -n "${code:-}" ]] || die "the Job's pod did not terminate: kubectl -n $K8S_NAMESPACE describe job $JOB"
say "validation exited with $code ($([[ "$code" == 0 ]] && echo PASS || echo FAIL))"
exit "$code"
