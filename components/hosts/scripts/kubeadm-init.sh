#!/usr/bin/env bash
# kubeadm init on the master, once: it is done when /etc/openpai/node-name is written, after a
# successful init; a run that failed halfway is reset and retried. The master stays schedulable
# (taints: [], OpenPAI runs its services there). No join credential is printed or stored: workers
# join with a fresh short-lived token each (join-token step). Prints the CA hash workers pin.
set -euo pipefail
: "${K8S_VERSION:?}" "${POD_CIDR:?}" "${SERVICE_CIDR:?}" "${MASTER_IP:?}" "${EXPECTED_HOSTNAME:?}" "${API_ENDPOINT:?}"
CERT_SANS="${CERT_SANS:-}"
EVICTION_HARD="${EVICTION_HARD:-}"
config=/etc/openpai/kubeadm.yaml

recorded="$(node_name_joined)"
if [[ -n "$recorded" ]]; then
  [[ "$recorded" == "$EXPECTED_HOSTNAME" ]] \
    || fail "this control plane was initialized as node '$recorded' and the layout now names it '$EXPECTED_HOSTNAME': renaming the master is not supported (its certificates and etcd member carry the name); keep its hostname"
  log "control plane already initialized as $recorded"
else
  if [[ -f /etc/kubernetes/admin.conf || -d /var/lib/etcd/member ]]; then
    log "an earlier kubeadm init did not finish: resetting before trying again"
    run kubeadm reset --force
  fi
  sans="  - \"$MASTER_IP\""
  for san in $CERT_SANS; do
    sans+=$'\n'"  - \"$san\""
  done
  # Where the host cannot raise them (a container such as the local lab), kubelet and kube-proxy
  # keep the host's open-files limit and conntrack table size instead of failing to set theirs.
  open_files="$(ulimit -Hn)"
  kubelet_extra=""
  [[ "$open_files" != unlimited ]] && ((open_files < 1000000)) && kubelet_extra+="maxOpenFiles: $open_files"$'\n'
  if [[ -n "$EVICTION_HARD" ]]; then
    kubelet_extra+="evictionHard:"$'\n'
    for threshold in $EVICTION_HARD; do
      kubelet_extra+="  ${threshold%%=*}: \"${threshold#*=}\""$'\n'
    done
  fi
  conntrack="{}"
  [[ -w /proc/sys/net/netfilter/nf_conntrack_max ]] || conntrack="{maxPerCore: 0}"
  write_file "$config" 0644 <<CONFIG || true
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: "$MASTER_IP"
nodeRegistration:
  name: "$EXPECTED_HOSTNAME"
  taints: []
  kubeletExtraArgs:
  - name: node-ip
    value: "$MASTER_IP"
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: "$K8S_VERSION"
controlPlaneEndpoint: "$API_ENDPOINT"
apiServer:
  certSANs:
$sans
networking:
  podSubnet: "$POD_CIDR"
  serviceSubnet: "$SERVICE_CIDR"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
$kubelet_extra---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
conntrack: $conntrack
CONFIG
  run kubeadm init --config "$config" --skip-token-print --skip-certificate-key-print
  echo "$EXPECTED_HOSTNAME" | write_file /etc/openpai/node-name 0644 || true
  check_only || changed "control plane initialized as $EXPECTED_HOSTNAME"
fi
