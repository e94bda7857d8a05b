#!/usr/bin/env bash
# kubeadm init on the master, once: it is done when /etc/openpai/node-name is written, after a
# successful init. The master stays schedulable (taints: [], OpenPAI runs its services there). No
# join credential is printed or stored: workers join with a fresh short-lived token each
# (join-token step). Without the marker, a control plane found here is never reset on that
# alone: one whose API server knows this node (the marker was lost, the host restored or adopted)
# gets its marker back; only this stack's own unfinished init (/etc/openpai/init-started, written
# before kubeadm init and removed after the marker) is reset and retried; anything else stops,
# saying what was found. A backup staged by `openpai restore` is restored in place of a new
# cluster (restore_control_plane).
set -euo pipefail
: "${K8S_VERSION:?}" "${POD_CIDR:?}" "${SERVICE_CIDR:?}" "${MASTER_IP:?}" "${EXPECTED_HOSTNAME:?}" "${API_ENDPOINT:?}"
CERT_SANS="${CERT_SANS:-}"
EVICTION_HARD="${EVICTION_HARD:-}"
config=/etc/openpai/kubeadm.yaml
init_started=/etc/openpai/init-started
# kubeadm init always makes a bootstrap token (24 hours by default); workers join with tokens of
# their own (join-token step), so init's lasts 15 minutes and is deleted as soon as init is done.
init_token="openpai-pulumi: kubeadm init's token, deleted after init"

restore="${OPENPAI_STATE_DIR:-/var/lib/openpai}/restore"
# The CA files kubeadm init takes instead of making new ones (backup.sh saves the same list).
restored_ca_files=(ca.crt ca.key sa.key sa.pub front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key)

# restore_control_plane: puts a staged backup (openpai restore, restore.sh) in place for kubeadm
# init: its CAs and service-account keys, and etcd's data from its snapshot (etcdutl of the etcd
# image kubeadm runs, as the etcd documentation restores a member); kubeadm init then runs the
# restored cluster, and the workers' kubelets, which trust those CAs, find their nodes in it.
restore_control_plane() {
  local node address image file
  node="$(sed -n 's/^node=//p' "$restore/manifest")" address="$(sed -n 's/^address=//p' "$restore/manifest")"
  [[ "$node" == "$EXPECTED_HOSTNAME" && "$address" == "$MASTER_IP" ]] \
    || fail "the backup staged in $restore is of master $node at $address, not $EXPECTED_HOSTNAME at $MASTER_IP: remove $restore, or restore this master's own backup"
  log "restoring the backup staged in $restore (taken $(sed -n 's/^created=//p' "$restore/manifest")) instead of making a new cluster"
  for file in "${restored_ca_files[@]}"; do
    run install -D -m "$([[ "$file" == *.key ]] && echo 0600 || echo 0644)" "$restore/pki/$file" "/etc/kubernetes/pki/$file"
  done
  image="$(kubeadm config images list --config "$config" 2>/dev/null | grep '/etcd:' | head -n 1)"
  [[ -n "$image" ]] || fail "kubeadm config images list names no etcd image"
  run crictl --runtime-endpoint unix:///run/containerd/containerd.sock pull "$image" >/dev/null
  run rm -rf /var/lib/etcd
  run ctr --namespace k8s.io run --rm --mount type=bind,src=/var/lib,dst=/var/lib,options=rbind:rw "$image" "openpai-etcd-restore-$$" \
    etcdutl snapshot restore "$restore/etcd/snapshot.db" --data-dir /var/lib/etcd --name "$EXPECTED_HOSTNAME" \
    --initial-cluster "$EXPECTED_HOSTNAME=https://$MASTER_IP:2380" --initial-advertise-peer-urls "https://$MASTER_IP:2380"
  check_only || changed "restored etcd's data from the backup's snapshot and the cluster's CAs into /etc/kubernetes/pki"
}

# kubeadm_addons_missing: what of kubeadm init's last phase (CoreDNS, kube-proxy) the API server lacks.
kubeadm_addons_missing() {
  local object
  for object in deployment/coredns daemonset/kube-proxy; do
    kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=10s -n kube-system get "$object" -o name >/dev/null 2>&1 \
      || printf '%s ' "$object"
  done
}

recorded="$(node_name_joined)"
if [[ -n "$recorded" ]]; then
  [[ "$recorded" == "$EXPECTED_HOSTNAME" ]] \
    || fail "this control plane was initialized as node '$recorded' and the layout now names it '$EXPECTED_HOSTNAME': renaming the master is not supported (its certificates and etcd member carry the name); keep its hostname"
  log "control plane already initialized as $recorded"
  exit 0
fi
found=()
for path in /etc/kubernetes/admin.conf /var/lib/etcd/member; do
  [[ -e "$path" ]] && found+=("$path")
done
if ((${#found[@]})); then
  log "no /etc/openpai/node-name, but a control plane is here (${found[*]}): asking its API server about node $EXPECTED_HOSTNAME"
  registration=unreachable
  if [[ -f /etc/kubernetes/admin.conf ]]; then
    registration="$(node_registration /etc/kubernetes/admin.conf "$EXPECTED_HOSTNAME" 180)"
  fi
  log "node $EXPECTED_HOSTNAME: $registration"
  if [[ ! -f "$init_started" ]]; then
    # Not this stack's unfinished init: a control plane whose marker was lost, restored or adopted.
    if [[ "$registration" != registered ]]; then
      fail "a control plane is on this host that this stack did not start initializing, and its API server does not know node $EXPECTED_HOSTNAME (above): not resetting it, it may hold a cluster's only etcd data. If it holds nothing to keep, run 'sudo kubeadm reset -f' on $EXPECTED_HOSTNAME, then pulumi up"
      exit 0
    fi
    record_node_name "$EXPECTED_HOSTNAME"
    check_only || changed "kept the running control plane of $EXPECTED_HOSTNAME (nothing reset): its lost /etc/openpai/node-name written again"
    exit 0
  fi
  # This stack's init (begun at the date in $init_started) ended before its marker: finished but
  # for the marker, or not finished (nothing joined it yet: workers join after the marker).
  missing=""
  [[ "$registration" == registered ]] && missing="$(kubeadm_addons_missing)"
  if [[ "$registration" == registered && -z "$missing" ]]; then
    record_node_name "$EXPECTED_HOSTNAME"
    run rm -f "$init_started"
    check_only || changed "kubeadm init of $EXPECTED_HOSTNAME had finished (nothing reset): its /etc/openpai/node-name written"
    exit 0
  fi
  log "this stack's kubeadm init begun $(cat "$init_started") did not finish (node $registration${missing:+, no $missing}): resetting it before trying again"
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
# A host on cgroup v1 (the local lab's, on this kernel) keeps its kubelet through the upgrade to
# v1.35, which refuses cgroup v1 unless told (preflight warns to move to cgroup v2).
if cgroup_v1; then
  kubelet_extra+="failCgroupV1: false"$'\n'
fi
conntrack="{}"
[[ -w /proc/sys/net/netfilter/nf_conntrack_max ]] || conntrack="{maxPerCore: 0}"
write_file "$config" 0644 <<CONFIG || true
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- description: "$init_token"
  ttl: "15m"
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
date -u +%FT%TZ | write_file "$init_started" 0644 >/dev/null || true
made=initialized
mapfile -t init_args < <(cgroup_v1_preflight_skip "$K8S_VERSION")
if [[ -f "$restore/etcd/snapshot.db" ]]; then
  restore_control_plane
  init_args+=(--ignore-preflight-errors=DirAvailable--var-lib-etcd)
  made="restored from the backup"
fi
run kubeadm init --config "$config" --skip-token-print --skip-certificate-key-print "${init_args[@]}"
if ! check_only && (($(delete_bootstrap_tokens "$init_token") > 0)); then
  changed "deleted kubeadm init's bootstrap token"
fi
if [[ "$made" != initialized ]] && ! check_only; then
  # Restored: the snapshot and CAs go; a database dump stays for PostgreSQL's first start.
  rm -rf "$restore/etcd" "$restore/pki" "$restore/manifest"
  changed "the restored cluster runs; removed the backup's snapshot and CAs from $restore"
fi
record_node_name "$EXPECTED_HOSTNAME"
run rm -f "$init_started"
check_only || changed "control plane $made as $EXPECTED_HOSTNAME"
