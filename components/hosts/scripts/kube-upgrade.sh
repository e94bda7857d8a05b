#!/usr/bin/env bash
# Moves a node of a running cluster to K8S_VERSION the kubeadm way (docs/operating.md, "Upgrading
# Kubernetes"; kube-packages.sh has refused a skipped minor or a downgrade before anything ran):
# the new release's suite and kubeadm first; on the control plane `kubeadm upgrade apply` (API
# server, controller manager, scheduler, etcd, CoreDNS, kube-proxy; kubeadm renews its
# certificates), on a worker `kubeadm upgrade node` (its kubelet's config); then kubelet and
# kubectl, kubelet restarted, and the node waited for until it is Ready at the new version.
# A worker has been drained before (worker-upgrade.ts holds its slot); the master, whose pods are
# OpenPAI's own services pinned to it, is cordoned while its kubelet is replaced, not drained:
# there is no other node they could go to.
# UPGRADE_PLAN=1 decides only: prints "upgrade-needed=<from> to <to>" when this node must move.
# A host that is not a node yet has nothing to upgrade: kube-packages installed the release.
set -euo pipefail
: "${K8S_VERSION:?}" "${UPGRADE_ROLE:?}" "${NODE_NAME:?}"
# A node's kubelet kubeconfig (the unit tests' fakes replace it): the worker's own node is read with it.
kubelet_kubeconfig="${KUBELET_KUBECONFIG:-/etc/kubernetes/kubelet.conf}"
case "$UPGRADE_ROLE" in
  control-plane) kubeconfig=/etc/kubernetes/admin.conf ;;
  node) kubeconfig="$kubelet_kubeconfig" ;;
  *) fail "UPGRADE_ROLE must be control-plane or node" ;;
esac
cordon_marker="${OPENPAI_STATE_DIR:-/var/lib/openpai}/upgrade-cordoned"
version="${K8S_VERSION#v}"
installed="$(installed_kubernetes_release)"

if [[ ! -f "$kubelet_kubeconfig" || -z "$installed" || "$installed" == "$version" ]]; then
  [[ "${UPGRADE_PLAN:-0}" == 1 ]] || log "$NODE_NAME: nothing to upgrade (kubelet ${installed:-not installed}, ${K8S_VERSION} asked)"
  exit 0
fi
kubernetes_upgrade_check "$installed" "$version"
# On cgroup v1, kubelet v1.35 and later start only with failCgroupV1: false in their config (the
# cluster's kubelet-config, which kubeadm upgrade writes to every node): without it the node would
# not come back. With it, kubeadm's SystemVerification error for cgroup v1 is the one skipped.
mapfile -t preflight_skips < <(cgroup_v1_preflight_skip "$K8S_VERSION")
if ((${#preflight_skips[@]})); then
  grep -qx 'failCgroupV1: false' "${KUBELET_CONFIG:-/var/lib/kubelet/config.yaml}" \
    || fail "$NODE_NAME runs cgroup v1, which kubelet $K8S_VERSION refuses: boot it with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel's command line), or add 'failCgroupV1: false' to the kubelet-config ConfigMap in kube-system and to /var/lib/kubelet/config.yaml on each node; nothing was changed"
  [[ "${UPGRADE_PLAN:-0}" == 1 ]] || log "$NODE_NAME runs cgroup v1 (deprecated; its kubelet config sets failCgroupV1: false): kubeadm's check for it is skipped"
fi
if [[ "${UPGRADE_PLAN:-0}" == 1 ]]; then
  echo "upgrade-needed=v$installed to $K8S_VERSION"
  exit 0
fi
if check_only; then
  log "would upgrade $NODE_NAME from v$installed to $K8S_VERSION (kubeadm upgrade, then kubelet and kubectl)"
  exit 0
fi
log "upgrading $NODE_NAME from v$installed to $K8S_VERSION"

kubernetes_apt_source "$K8S_VERSION"
apt_install "kubeadm=$version-*"
hold kubeadm
if [[ "$UPGRADE_ROLE" == control-plane ]]; then
  # Done already when the API server's manifest names the release (a retried run).
  if grep -q "image: .*/kube-apiserver:$K8S_VERSION\$" /etc/kubernetes/manifests/kube-apiserver.yaml; then
    log "the control plane already runs $K8S_VERSION"
  else
    run kubeadm upgrade apply "$K8S_VERSION" --yes "${preflight_skips[@]}"
    changed "control plane upgraded to $K8S_VERSION (kubeadm upgrade apply)"
  fi
  # Cordoned by this step (a marker, so a retried run still uncordons it), unless it already was
  # (an admin's or alert handler's cordon stays).
  if [[ ! -f "$cordon_marker" && "$(kubectl --kubeconfig "$kubeconfig" get node "$NODE_NAME" -o jsonpath='{.spec.unschedulable}')" != true ]]; then
    mkdir -p "$(dirname "$cordon_marker")"
    touch "$cordon_marker"
    run kubectl --kubeconfig "$kubeconfig" cordon "$NODE_NAME" >/dev/null
    changed "cordoned $NODE_NAME while its kubelet is replaced"
  fi
else
  run kubeadm upgrade node "${preflight_skips[@]}"
  changed "kubelet's configuration upgraded (kubeadm upgrade node)"
fi

apt_install "kubelet=$version-*" "kubectl=$version-*"
hold kubelet kubectl
run systemctl daemon-reload
run systemctl restart kubelet
node_ready_at "$kubeconfig" "$NODE_NAME" "$K8S_VERSION" 600
if [[ -f "$cordon_marker" ]]; then
  run kubectl --kubeconfig "$kubeconfig" uncordon "$NODE_NAME" >/dev/null
  rm -f "$cordon_marker"
  changed "uncordoned $NODE_NAME"
fi
changed "$NODE_NAME upgraded from v$installed to $K8S_VERSION: Ready, kubelet $K8S_VERSION"
