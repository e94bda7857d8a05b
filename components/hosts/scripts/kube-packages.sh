#!/usr/bin/env bash
# Kubernetes packages from pkgs.k8s.io (or cluster.aptMirror, a mirror of it) at the pinned
# release, signed by the pinned key, held against upgrades. A node of a running cluster is not
# moved to another release here: that is the upgrade step's `kubeadm upgrade` (kube-upgrade.sh),
# the control plane first, then each worker drained; a move it cannot make (a skipped minor, a
# downgrade) is refused here, on every host, before anything changes.
set -euo pipefail
: "${K8S_VERSION:?}"
KUBE_PACKAGES="${KUBE_PACKAGES:-kubelet kubeadm kubectl}"
# A node's kubelet kubeconfig (the unit tests' fakes replace it).
kubelet_kubeconfig="${KUBELET_KUBECONFIG:-/etc/kubernetes/kubelet.conf}"

version="${K8S_VERSION#v}"
installed="$(installed_kubernetes_release)"
if [[ -n "$installed" && "$installed" != "$version" && -f "$kubelet_kubeconfig" ]]; then
  # A node of a running cluster: its packages move in the upgrade step (kube-upgrade.sh), the
  # control plane's first; here only whether the move is allowed, before anything changes.
  kubernetes_upgrade_check "$installed" "$version"
  log "this node runs Kubernetes $installed: the upgrade step moves it to $version (the control plane first)"
  exit 0
fi

kubernetes_apt_source "$K8S_VERSION"
wanted=()
for pkg in $KUBE_PACKAGES; do
  wanted+=("$pkg=$version-*")
done
apt_install "${wanted[@]}"
# shellcheck disable=SC2086 # one argument per package
hold $KUBE_PACKAGES
if [[ " $KUBE_PACKAGES " == *" kubelet "* ]]; then
  run systemctl enable kubelet
fi
log "$KUBE_PACKAGES at $version"
