#!/usr/bin/env bash
# Builds everything a real kubeadm cluster in the lab pulls: the Kubernetes binaries, CRI tools,
# CNI plugins, CoreDNS, etcd, kube-router, containerd 2.x and pause from the Go module proxy
# (pause: gcc), the cluster's images as OCI layouts (recorded for publish.sh), and the
# pkgs.k8s.io-like apt repository with its containerd2/ suite ($lab_cache/apt-repo); then the same
# for the upgrade target (UPGRADE_* in lab/versions): its Kubernetes binaries, CNI plugins, etcd
# and CoreDNS, the images that change with the release, and its own suite. Each step is
# cached by a key of its inputs: a warm run takes seconds. Usage: lab/artifacts/build.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=../lib/rootfs.sh
source "$here/../lib/rootfs.sh"
# shellcheck source=../lib/oci.sh
source "$here/../lib/oci.sh"
# shellcheck source=binaries.sh
source "$here/binaries.sh"
# shellcheck source=images.sh
source "$here/images.sh"
# shellcheck source=apt-repo.sh
source "$here/apt-repo.sh"

for tool in go gcc umoci skopeo dpkg-deb dpkg-scanpackages gpg setcap debootstrap; do
  command -v "$tool" >/dev/null || lab_die "$tool is missing (Go: /usr/local/go/bin; the rest: apt-get install)"
done

binary_sets=(go-runner pause crictl cni-plugins coredns etcd kube-router containerd)
# What is built again with the upgrade target's pins.
release_binary_sets=(cni-plugins coredns etcd)
mapfile -t images < <(images_list)
# (Counted here; listed again once the upgrade target's pins are set.)
mapfile -t release_images < <(images_list release)
steps=$((1 + ${#binary_sets[@]} + 1 + ${#images[@]} + 1 + ${#release_binary_sets[@]} + ${#release_images[@]} + 1))
step=0
build_start=$SECONDS

# step DESCRIPTION COMMAND...: runs COMMAND in this shell (it may set variables for later steps);
# COMMAND prints "cached" when it had nothing to do.
step() {
  local what="$1" started=$SECONDS status_file result
  shift
  step=$((step + 1))
  lab_log "step $step of $steps: $what"
  status_file="$(mktemp)"
  "$@" >"$status_file"
  result="$(cat "$status_file")"
  rm -f "$status_file"
  if [[ "$result" == cached ]]; then
    lab_log "step $step of $steps: $what: cached"
  else
    lab_log "step $step of $steps: $what: done in $((SECONDS - started))s"
  fi
}

# The k8s.io/kubernetes binaries of $KUBERNETES_VERSION come from the project's toolchain script
# (shared cache; it waits for another run of itself). Sets kube_bin.
kubernetes_binaries() {
  local log="$lab_cache/logs/kube-binaries-$KUBERNETES_VERSION.log" args=()
  [[ "$KUBERNETES_VERSION" == "$pinned_kubernetes_version" ]] || args=(--kubernetes "$KUBERNETES_VERSION")
  mkdir -p "$(dirname "$log")"
  kube_bin="$("$project_dir/scripts/kube-binaries.sh" "${args[@]}" 2>"$log" | tail -n1)" \
    || { tail -n 30 "$log" >&2; lab_die "scripts/kube-binaries.sh failed (log: $log)"; }
  if grep -q 'building' "$log"; then echo built; else echo cached; fi
}

# binary_set NAME: builds (or finds) one set; remembers its directory for the images.
binary_set() {
  local name="$1" dir status=built
  ! artifact_built "$name" "$(artifact_key "$name")" >/dev/null || status=cached
  dir="$(artifact_binaries "$name")"
  case "$name" in
    go-runner) go_runner_bin="$dir" ;;
    pause) pause_bin="$dir" ;;
    crictl) crictl_bin="$dir" ;;
    cni-plugins) cni_bin="$dir" ;;
    coredns) coredns_bin="$dir" ;;
    etcd) etcd_bin="$dir" ;;
    kube-router) kube_router_bin="$dir" ;;
    containerd) containerd_bin="$dir" ;;
  esac
  echo "$status"
}

# The Debian tree is built once (lab_rootfs caches it); sets image_tree.
image_packages_tree() {
  local started
  started="$(date +%s)"
  image_tree="$(images_rootfs)"
  if (($(stat -c %Y "$image_tree.done") < started)); then echo cached; else echo built; fi
}

# build_images ENTRY...: one step per image_list entry.
build_images() {
  local entry ref image_function component
  for entry in "$@"; do
    read -r ref image_function component <<<"$entry"
    image_component="${component:-}"
    # shellcheck disable=SC2046 # image_inputs prints one path or string per word
    step "image $ref" image_build "$ref" "$image_function" $(image_inputs "$image_function" "${component:-}")
  done
}

kube_bin="" crictl_bin="" pinned_kubernetes_version="$KUBERNETES_VERSION"
step "Kubernetes $KUBERNETES_VERSION binaries (scripts/kube-binaries.sh)" kubernetes_binaries
for name in "${binary_sets[@]}"; do
  step "binaries: $name" binary_set "$name"
done
step "Debian packages for the images (lab_rootfs image-packages)" image_packages_tree
build_images "${images[@]}"
apt_releases=("$KUBERNETES_VERSION $kube_bin $CNI_PLUGINS_VERSION $cni_bin")

# The upgrade target: the same steps with its pins (the rest is shared with the release above).
KUBERNETES_VERSION="$UPGRADE_KUBERNETES_VERSION" CNI_PLUGINS_VERSION="$UPGRADE_CNI_PLUGINS_VERSION"
COREDNS_VERSION="$UPGRADE_COREDNS_VERSION" ETCD_IMAGE_VERSION="$UPGRADE_ETCD_IMAGE_VERSION"
step "Kubernetes $KUBERNETES_VERSION binaries (scripts/kube-binaries.sh --kubernetes)" kubernetes_binaries
for name in "${release_binary_sets[@]}"; do
  step "binaries: $name for $KUBERNETES_VERSION" binary_set "$name"
done
mapfile -t release_images < <(images_list release)
build_images "${release_images[@]}"
apt_releases+=("$KUBERNETES_VERSION $kube_bin $CNI_PLUGINS_VERSION $cni_bin")
step "apt repository ($lab_cache/apt-repo)" apt_repo

lab_log "all $steps steps in $((SECONDS - build_start))s"
for entry in "${images[@]}" "${release_images[@]}"; do
  read -r ref _ <<<"$entry"
  layout="$(sed -n 's/^layout=//p' "$oci_root/refs/$(oci_ref_name "$ref")")"
  lab_log "  $ref  $(du -sh "$layout" | cut -f1) (OCI layout $layout)"
done
lab_log "  apt repository: $(readlink "$lab_cache/apt-repo") ($(du -shL "$lab_cache/apt-repo" | cut -f1))"
