#!/usr/bin/env bash
# Rolls out a release of an overlay in the order the schema needs: everything but the Deployments (config,
# policies, Services, NATS, the migration Jobs and the nats-provision Job), then the Jobs to completion, then the
# Deployments.
#   infra/scripts/release.sh infra/k8s/overlays/prod [timeout]
set -euo pipefail
overlay=${1:?usage: release.sh <overlay directory> [timeout, default 10m]}
timeout=${2:-10m}
ns=wxmp
jobs="app.kubernetes.io/component in (migration,provisioning)"

# A Job's pod template cannot change, so the previous release's Jobs make way for this one's.
kubectl -n "$ns" delete job -l "$jobs" --ignore-not-found --wait=true
kubectl apply -k "$overlay" -l 'wxmp.io/applied-after!=migrations'
if ! kubectl -n "$ns" wait --for=condition=complete job -l "$jobs" --timeout="$timeout"; then
  echo "release: migrations or NATS provisioning did not complete; nothing was rolled out. Their logs:" >&2
  kubectl -n "$ns" logs -l "$jobs" --all-containers --tail=50 >&2 || true
  exit 1
fi
kubectl apply -k "$overlay"
for d in $(kubectl -n "$ns" get deployment -l app.kubernetes.io/part-of=wxmp -o name); do
  kubectl -n "$ns" rollout status "$d" --timeout="$timeout"
done
