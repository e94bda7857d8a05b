#!/usr/bin/env bash
# Removes Kubernetes from a host that leaves the cluster (run on delete).
set -euo pipefail

if [[ -f /etc/kubernetes/kubelet.conf || -f /etc/kubernetes/admin.conf ]]; then
  run kubeadm reset --force
  run rm -rf /etc/cni/net.d /etc/openpai/kubeadm.yaml /etc/openpai/kubeadm-join.yaml
  check_only || changed "kubeadm reset"
else
  log "not part of a cluster: nothing to reset"
fi
