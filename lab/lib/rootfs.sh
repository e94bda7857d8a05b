#!/usr/bin/env bash
# Debian trees made with debootstrap, cached by suite, mirror and package list: the base of the
# lab's hosts and of the Debian-based images the lab builds. Source it after common.sh.

# lab_rootfs NAME PACKAGE...: prints the path of a minbase $DEBIAN_SUITE tree with PACKAGES,
# building it on first use (about 2 minutes). The tree is shared: never write into it; use an
# overlay (hosts) or copy what you need (images).
# shellcheck disable=SC2154 # lab_cache comes from common.sh
lab_rootfs() {
  local name="$1" key dir
  shift
  key="$(printf '%s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$@" | sha256sum | cut -c1-12)"
  dir="$lab_cache/rootfs/$name-$key"
  if [[ ! -f "$dir.done" ]]; then
    command -v debootstrap >/dev/null || lab_die "debootstrap is missing: apt-get install debootstrap"
    lab_log "building the $name rootfs ($DEBIAN_SUITE, $# extra packages): about 2 minutes"
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    local args=(--variant=minbase)
    (($# > 0)) && args+=("--include=$(IFS=,; echo "$*")")
    debootstrap "${args[@]}" "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR" >&2 \
      || { rm -rf "$dir"; lab_die "debootstrap of the $name rootfs failed"; }
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*_Packages
    touch "$dir.done"
    lab_changed "built the $name rootfs in $dir"
  fi
  echo "$dir"
}
