#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# What every image recipe of lab/pai-images shares: its Debian trees, work folders, the list of
# images it made (publish.sh pushes those), and small layers oci.sh has no function for.
# Source it after lab/lib/common.sh, rootfs.sh, oci.sh and ../versions.

pai_images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pai_images_cache="$lab_cache/pai-images"
# Inputs of every image's cache key besides its own: these helpers and oci.sh, which lays the
# layers out (a change there rebuilds everything).
# shellcheck disable=SC2034 # used by the image recipes
pai_common_inputs=("$pai_images_dir/lib/common.sh" "$lab_dir/lib/oci.sh")
# Images made or found cached by this run or earlier ones: one reference a line.
pai_images_refs_file="$pai_images_cache/refs"
# Standard PATH of the Debian- and alpine-based upstream images.
# shellcheck disable=SC2034 # used by the image recipes
pai_default_path="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Debian trees, one per family of images, so a family shares one debootstrap. Images of the
# small family take only their packages' files from it (oci_add_packages); the others carry the
# whole tree, as the Debian/Ubuntu-based upstream images did.
declare -A pai_tree_packages=(
  [small]="bash coreutils ca-certificates procps tini busybox-static findutils e2fsprogs util-linux mount prometheus prometheus-alertmanager prometheus-node-exporter"
  [node]="ca-certificates openssh-client curl git procps"
  [python]="python3 python-is-python3 curl git daemontools iftop lsof procps ca-certificates"
  [postgres]="postgresql-15 ca-certificates"
  [nginx]="nginx gettext-base curl ca-certificates procps libnginx-mod-http-lua lua-cjson lua-filesystem libnginx-mod-http-subs-filter python3 python3-jinja2"
)

# Packages installed with apt-get after debootstrap: debootstrap's own resolver configures them
# in an order whose maintainer scripts fail (python3-* byte-compiling before python3 is set up).
declare -A pai_tree_apt_packages=(
  [python]="python3-kubernetes python3-yaml python3-requests python3-jinja2 python3-pystache python3-git python3-backoff python3-prometheus-client python3-twisted"
)

# pai_tree FAMILY: path of the family's shared Debian tree (read-only: copy before changing it).
pai_tree() {
  local packages base
  read -ra packages <<<"${pai_tree_packages[$1]:?unknown tree family $1}"
  base="$(lab_rootfs "pai-$1" "${packages[@]}")"
  if [[ -z "${pai_tree_apt_packages[$1]:-}" ]]; then
    echo "$base"
    return 0
  fi
  read -ra packages <<<"${pai_tree_apt_packages[$1]}"
  pai_tree_with_apt "$base" "${packages[@]}"
}

# pai_tree_with_apt BASE PACKAGE...: a copy of the Debian tree BASE with PACKAGEs added by apt-get
# in a chroot (network from this machine), cached by BASE and the package list.
pai_tree_with_apt() {
  local base="$1" key dir
  shift
  key="$(printf '%s\n' "$base" "$@" | sha256sum | cut -c1-12)"
  dir="$pai_images_cache/trees/$(basename "$base")-apt-$key"
  if [[ ! -f "$dir.done" ]]; then
    lab_log "adding $# packages to a copy of $(basename "$base") with apt-get"
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    cp -a "$base" "$dir"
    [[ ! -e "$dir/etc/resolv.conf" ]] || mv "$dir/etc/resolv.conf" "$dir/etc/resolv.conf.tree"
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    # No service starts in a tree (policy-rc.d), /proc only for the install (private mount).
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod +x "$dir/usr/sbin/policy-rc.d"
    # shellcheck disable=SC2016 # expanded by the inner bash
    unshare --mount --fork bash -c 'mount --make-rprivate / && mount -t proc proc "$1/proc" \
      && chroot "$1" apt-get update -qq && DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get install -y -qq \
        --no-install-recommends "${@:2}"' _ "$dir" "$@" >"$dir.log" 2>&1 \
      || { tail -n 20 "$dir.log" >&2; rm -rf "$dir"; lab_die "apt-get install in $dir failed"; }
    rm -f "$dir/usr/sbin/policy-rc.d" "$dir/etc/resolv.conf"
    [[ ! -e "$dir/etc/resolv.conf.tree" ]] || mv "$dir/etc/resolv.conf.tree" "$dir/etc/resolv.conf"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*_Packages "$dir.log"
    touch "$dir.done"
    lab_changed "built $dir"
  fi
  echo "$dir"
}

# pai_work NAME: a fresh work folder for one image's build (removed once the image is made).
pai_work() {
  local dir="$pai_images_cache/work/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$dir"
}

pai_remember() {
  mkdir -p "$pai_images_cache"
  grep -qxF "$1" "$pai_images_refs_file" 2>/dev/null || echo "$1" >>"$pai_images_refs_file"
}

# pai_ref NAME: an image OpenPAI's own build makes (docker.io/openpai/NAME:tag).
pai_ref() { echo "docker.io/openpai/$1:$PAI_IMAGE_TAG"; }

# pai_add_accounts LINE...: /etc/passwd and /etc/group as one layer; each LINE is
# "user:uid:group:gid:home:shell". root and nobody are always there.
pai_add_accounts() {
  local staging line user uid group gid home shell
  staging="$(oci_staging_dir)"
  mkdir -p "$staging/etc"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/bash' >"$staging/etc/passwd"
  printf '%s\n' 'root:x:0:' >"$staging/etc/group"
  for line in "$@"; do
    IFS=: read -r user uid group gid home shell <<<"$line"
    echo "$user:x:$uid:$gid:$user:$home:$shell" >>"$staging/etc/passwd"
    grep -q "^$group:" "$staging/etc/group" || echo "$group:x:$gid:" >>"$staging/etc/group"
  done
  echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >>"$staging/etc/passwd"
  echo 'nogroup:x:65534:' >>"$staging/etc/group"
  printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$staging/etc/nsswitch.conf"
  mkdir -p "$staging/tmp"
  chmod 1777 "$staging/tmp"
  oci_tar_dir "$staging" | oci_add_layer_tar "add accounts ($*)"
  rm -rf "$staging"
}

# pai_add_ca_bundle TREE: the CA bundle ca-certificates' maintainer script made in TREE (no
# package lists it, so oci_add_packages leaves it out).
pai_add_ca_bundle() {
  local staging
  staging="$(oci_staging_dir)"
  mkdir -p "$staging/etc/ssl"
  cp -a "$1/etc/ssl/certs" "$staging/etc/ssl/"
  oci_tar_dir "$staging" | oci_add_layer_tar "add CA certificates"
  rm -rf "$staging"
}

# pai_add_files DEST_DIR FILE...: the project's own files (lab/pai-images/files) into DEST_DIR.
pai_add_files() {
  local dest="$1" staging file
  shift
  staging="$(oci_staging_dir)"
  mkdir -p "$staging$dest"
  for file in "$@"; do cp "$pai_images_dir/files/$file" "$staging$dest/"; done
  chown -R 0:0 "$staging"
  oci_tar_dir "$staging" | oci_add_layer_tar "add $*"
  rm -rf "$staging"
}

# pai_links_layer LINK=TARGET...: symbolic links as one layer (paths inside the image).
pai_links_layer() {
  local staging pair
  staging="$(oci_staging_dir)"
  for pair in "$@"; do
    mkdir -p "$staging$(dirname "${pair%%=*}")"
    ln -s "${pair#*=}" "$staging${pair%%=*}"
  done
  oci_tar_dir "$staging" | oci_add_layer_tar "add links $*"
  rm -rf "$staging"
}
