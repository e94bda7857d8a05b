#!/usr/bin/env bash
# kubeadm join on a worker, once (guarded by kubelet.conf), pinning the master's CA hash.
# The token goes in a root-only config file, never on a command line or in the output.
set -euo pipefail
: "${JOIN_TOKEN:?}" "${CA_CERT_HASH:?}" "${MASTER_IP:?}" "${EXPECTED_HOSTNAME:?}"

if [[ -f /etc/kubernetes/kubelet.conf ]]; then
  log "already joined"
  exit 0
fi
write_file /etc/openpai/kubeadm-join.yaml 0600 <<CONFIG || true
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: "$MASTER_IP:6443"
    token: "$JOIN_TOKEN"
    caCertHashes: ["$CA_CERT_HASH"]
nodeRegistration:
  name: "$EXPECTED_HOSTNAME"
CONFIG
run kubeadm join --config /etc/openpai/kubeadm-join.yaml
check_only || changed "joined the cluster at $MASTER_IP"
