#!/usr/bin/env bash
# The Kubernetes API server's addresses as pods reach them (the endpoints of the `kubernetes`
# Service), as a comma-separated list of /32 (or /128) blocks: what `make deploy` synthesizes the
# NetworkPolicies' API server egress with (K8S_API_SERVER_CIDRS). Prints nothing, and exits 0, when
# the cluster cannot be asked (the synthesis then keeps its default and says so).
set -euo pipefail
KUBECTL="${KUBECTL:-kubectl}"
addrs="$("$KUBECTL" get endpointslices -n default -l kubernetes.io/service-name=kubernetes \
  -o jsonpath='{range .items[*].endpoints[*]}{.addresses[*]}{" "}{end}' 2>/dev/null || true)"
out=""
for a in $addrs; do
  if [[ $a == *:* ]]; then out+="${out:+,}$a/128"; else out+="${out:+,}$a/32"; fi
done
[[ -n $out ]] || echo "api-server-cidrs: the cluster's API server endpoints could not be read; the synthesis keeps its default" >&2
printf '%s' "$out"
