#!/usr/bin/env bash
# Removes Kubernetes from a host that leaves the cluster (run on delete, after its node was
# drained and deleted). A host that now belongs to another node name (renamed and joined again)
# is left alone: this delete is about the old name.
set -euo pipefail
: "${NODE_NAME:?}"

recorded="$(node_name_joined)"
if [[ -n "$recorded" && "$recorded" != "$NODE_NAME" ]]; then
  log "this host is node '$recorded' now, not '$NODE_NAME': not resetting it"
  exit 0
fi
if [[ -n "$recorded" || -f /etc/kubernetes/kubelet.conf || -f /etc/kubernetes/admin.conf ]]; then
  kubeadm_reset
  run rm -f /etc/openpai/kubeadm.yaml
  if ip link show kube-bridge >/dev/null 2>&1; then
    run ip link delete kube-bridge
  fi
  check_only || changed "kubeadm reset: $NODE_NAME left the cluster"
else
  log "not part of a cluster: nothing to reset"
fi
