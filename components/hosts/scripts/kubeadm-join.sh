#!/usr/bin/env bash
# kubeadm join on a worker, once: done when /etc/openpai/node-name names this node. A host that
# joined under another name (renamed) or whose earlier join failed halfway is reset first. The
# token goes in a root-only file that is removed after the join, never on a command line or in
# the output; the master's CA hash is pinned.
set -euo pipefail
: "${JOIN_TOKEN:?}" "${CA_CERT_HASH:?}" "${API_ENDPOINT:?}" "${EXPECTED_HOSTNAME:?}" "${NODE_IP:?}"
config=/etc/openpai/kubeadm-join.yaml

recorded="$(node_name_joined)"
if [[ "$recorded" == "$EXPECTED_HOSTNAME" ]]; then
  log "already joined as $recorded"
  exit 0
fi
if [[ -n "$recorded" || -f /etc/kubernetes/kubelet.conf ]]; then
  log "this host joined as '${recorded:-?}' or an earlier join did not finish: resetting before joining as $EXPECTED_HOSTNAME"
  run kubeadm reset --force
  # The directory stays: containerd watches it and would miss the next network config.
  if [[ -d /etc/cni/net.d ]]; then
    run find /etc/cni/net.d -mindepth 1 -delete
  fi
  run rm -f /etc/openpai/node-name
fi
trap 'rm -f "$config"' EXIT
write_file "$config" 0600 <<CONFIG >/dev/null || true
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: "$API_ENDPOINT"
    token: "$JOIN_TOKEN"
    caCertHashes: ["$CA_CERT_HASH"]
nodeRegistration:
  name: "$EXPECTED_HOSTNAME"
  kubeletExtraArgs:
  - name: node-ip
    value: "$NODE_IP"
CONFIG
if ! run kubeadm join --config "$config"; then
  fail "kubeadm join failed (see above); the next pulumi up joins again with a fresh token"
fi
echo "$EXPECTED_HOSTNAME" | write_file /etc/openpai/node-name 0644 || true
check_only || changed "joined the cluster at $API_ENDPOINT as $EXPECTED_HOSTNAME"
