#!/usr/bin/env bash
# kubeadm join on a worker, once: done when /etc/openpai/node-name names this node. A host that
# joined under another name (renamed) is reset first. Without the marker, a host with a kubelet
# config is asked about, never reset on that alone: the API server it knows (with the kubelet's
# own credentials) says whether it is a registered node (its marker is written again) or not (an
# earlier join did not finish, or its node was deleted: reset, then joined); when that API server
# does not answer, nothing is reset. The token goes in a root-only file that is removed after the
# join, never on a command line or in the output; the master's CA hash is pinned.
set -euo pipefail
: "${JOIN_TOKEN:?}" "${CA_CERT_HASH:?}" "${API_ENDPOINT:?}" "${EXPECTED_HOSTNAME:?}" "${NODE_IP:?}"
config=/etc/openpai/kubeadm-join.yaml

# reset_node WHY: kubeadm reset, saying why.
reset_node() {
  log "$1: resetting this host before joining it as $EXPECTED_HOSTNAME"
  kubeadm_reset
}

recorded="$(node_name_joined)"
if [[ ! -f /etc/kubernetes/kubelet.conf ]]; then
  # No kubelet config: not a node, whatever a marker says; leftovers of a join are cleared.
  if [[ -n "$recorded" || -e /etc/kubernetes/pki/ca.crt ]]; then
    reset_node "no /etc/kubernetes/kubelet.conf, but leftovers of a join (a marker naming '${recorded:-none}', /etc/kubernetes/pki)"
  fi
elif [[ "$recorded" == "$EXPECTED_HOSTNAME" ]]; then
  log "already joined as $recorded"
  exit 0
elif [[ -n "$recorded" ]]; then
  reset_node "this host joined as '$recorded'"
else
  log "no /etc/openpai/node-name, but a kubelet config: asking its API server whether node $EXPECTED_HOSTNAME is registered"
  registration="$(node_registration /etc/kubernetes/kubelet.conf "$EXPECTED_HOSTNAME" 60)"
  case "$registration" in
    registered)
      record_node_name "$EXPECTED_HOSTNAME"
      check_only || changed "kept node $EXPECTED_HOSTNAME (registered, nothing reset): its lost /etc/openpai/node-name written again"
      exit 0 ;;
    absent)
      reset_node "the API server has no node $EXPECTED_HOSTNAME (an earlier join did not finish, or the node was deleted)" ;;
    *)
      fail "the API server this host's kubelet uses ($(sed -n 's/^ *server: //p' /etc/kubernetes/kubelet.conf | head -n 1)) does not answer, so whether $EXPECTED_HOSTNAME is a live node is unknown: not resetting it. Bring the master back, then pulumi up; or, if this host holds nothing to keep, run 'sudo kubeadm reset -f' on it first"
      exit 0 ;;
  esac
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
# shellcheck disable=SC2046 # no flag, or one
if ! run kubeadm join --config "$config" $(cgroup_v1_preflight_skip "$(kubeadm version -o short 2>/dev/null)"); then
  fail "kubeadm join failed (see above); the next pulumi up joins again with a fresh token"
fi
record_node_name "$EXPECTED_HOSTNAME"
check_only || changed "joined the cluster at $API_ENDPOINT as $EXPECTED_HOSTNAME"
