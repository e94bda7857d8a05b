#!/usr/bin/env bash
# Kubernetes packages from pkgs.k8s.io (or cluster.aptMirror, a mirror of it) at the pinned
# release, signed by the pinned key, held against upgrades. A node of a running cluster is never
# moved to another release here: that is a one-node-at-a-time `kubeadm upgrade`, refused with the
# steps to take.
set -euo pipefail
: "${K8S_VERSION:?}"
APT_MIRROR="${APT_MIRROR:-https://pkgs.k8s.io}"
KUBE_PACKAGES="${KUBE_PACKAGES:-kubelet kubeadm kubectl}"
# pkgs.k8s.io's signing key (isv:kubernetes), as `gpg --show-keys` prints it for
# https://pkgs.k8s.io/core:/stable:/v1.34/deb/Release.key (also pinned in Azure/aks-flex's
# cloud-init for pkgs.k8s.io); cluster.aptMirrorKeyFingerprint names a re-signing mirror's key.
APT_KEY_FINGERPRINT="${APT_KEY_FINGERPRINT:-DE15B14486CD377B9E876E1A234654DA9A296436}"
require_plain_url "$APT_MIRROR" cluster.aptMirror
require_fingerprint "$APT_KEY_FINGERPRINT" cluster.aptMirrorKeyFingerprint

minor="${K8S_VERSION#v}"
minor="${minor%.*}"
version="${K8S_VERSION#v}"
installed="$(dpkg-query -W -f='${Version}' kubelet 2>/dev/null || true)"
if [[ -n "$installed" && "$installed" != "$version"-* && -f /etc/kubernetes/kubelet.conf ]]; then
  fail "this node runs Kubernetes ${installed%-*} and the stack asks for $version: openpai-pulumi does not upgrade a running cluster in place (every kubelet at once would break the version skew policy). Set openpai:cluster.kubernetesVersion back to v${installed%-*}, or upgrade with kubeadm node by node (docs/operating.md, 'Upgrading the Kubernetes cluster by hand'), then set it."
fi

apt_install apt-transport-https ca-certificates curl gpg
keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
source_line="deb [signed-by=$keyring] $APT_MIRROR/core:/stable:/v$minor/deb/ /"
signing_key "$APT_MIRROR/core:/stable:/v$minor/deb/Release.key" "$keyring" "$APT_KEY_FINGERPRINT" \
  "openpai:cluster.aptMirrorKeyFingerprint"
if echo "$source_line" | write_file /etc/apt/sources.list.d/kubernetes.list 0644; then
  # shellcheck disable=SC2034 # read by lib.sh's apt_update: the new source needs a fresh update
  apt_updated=0
fi
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
