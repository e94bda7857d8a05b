#!/usr/bin/env bash
# kubeadm init on the master, once (guarded by admin.conf). Prints the CA hash workers pin.
set -euo pipefail
: "${K8S_VERSION:?}" "${JOIN_TOKEN:?}" "${POD_CIDR:?}" "${SERVICE_CIDR:?}" "${MASTER_IP:?}" "${EXPECTED_HOSTNAME:?}"

if [[ -f /etc/kubernetes/admin.conf ]]; then
  log "control plane already initialized"
else
  write_file /etc/openpai/kubeadm.yaml 0600 <<CONFIG || true
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: "$JOIN_TOKEN"
  ttl: "0s"
localAPIEndpoint:
  advertiseAddress: "$MASTER_IP"
nodeRegistration:
  name: "$EXPECTED_HOSTNAME"
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: "$K8S_VERSION"
controlPlaneEndpoint: "$MASTER_IP:6443"
networking:
  podSubnet: "$POD_CIDR"
  serviceSubnet: "$SERVICE_CIDR"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
CONFIG
  run kubeadm init --config /etc/openpai/kubeadm.yaml --upload-certs
  check_only || changed "control plane initialized"
fi
if [[ -f /etc/kubernetes/pki/ca.crt ]]; then
  hash="$(openssl x509 -pubkey -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der 2>/dev/null | sha256sum | cut -d' ' -f1)"
  echo "ca_cert_hash=sha256:$hash"
else
  log "no CA yet (check-only)"
  echo "ca_cert_hash=sha256:check-only"
fi
