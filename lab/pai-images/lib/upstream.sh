#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# Upstream source trees the images are built from. Each comes from a tarball in
# $OPENPAI_UPSTREAM_DIR or ../shared/upstream beside the checkout (CI: /work/shared/upstream, see
# its README) or, without them, from a clone of
# the tagged repository, which is kept as a tarball in $lab_cache/pai-images/sources (so it is
# cloned once). Unpacked once per content digest under $lab_cache/pai-images/upstream; the
# unpacked trees are shared: copy before building in one.
# Source it after lab/lib/common.sh.

# name | tarball glob in $OPENPAI_UPSTREAM_DIR | repository | ref (tag, or commit when untagged)
# openpai-runtime: pai v1.8.0 runs openpairuntime/openpai-runtime:v0.1.11; the pinned archive is
# the newest commit (v0.1.12-8-g59ec6d1), so a clone takes that commit too, not the tag.
# The rows after openpai-runtime are not in the pinned archives yet: the images needing them are
# skipped (with a warning) when neither the tarball nor a clone is at hand. morris.js: webportal's
# yarn.lock takes it from a GitHub commit (through admin-lte), not from the npm registry.
upstream_table=(
  "pai|pai-v1.8.0-src.tar.gz|https://github.com/microsoft/pai|v1.8.0"
  "hivedscheduler|hivedscheduler-v0.3.4.tar.gz|https://github.com/microsoft/hivedscheduler|v0.3.4"
  "frameworkcontroller|frameworkcontroller-v1.0.1.tar.gz|https://github.com/microsoft/frameworkcontroller|v1.0.1"
  "openpai-runtime|openpai-runtime-59ec6d179dd4.tar.gz|https://github.com/microsoft/openpai-runtime|59ec6d179dd4f0c2eb7ac1341da1b5955ec58e52"
  "generic-device-plugin|generic-device-plugin-0.1.0.tar.gz|https://github.com/squat/generic-device-plugin|0.1.0"
  "lua-resty-jwt|lua-resty-jwt-v0.2.3.tar.gz|https://github.com/cdbattags/lua-resty-jwt|v0.2.3"
  "lua-resty-hmac|lua-resty-hmac-*.tar.gz|https://github.com/jkeys089/lua-resty-hmac|5f60e1a28b9fdd7939f0e1738171f0ca5fe22978"
  "lua-resty-openssl|lua-resty-openssl-0.7.2.tar.gz|https://github.com/fffonion/lua-resty-openssl|0.7.2"
  "lua-resty-string|lua-resty-string-v0.12.tar.gz|https://github.com/openresty/lua-resty-string|v0.12"
  "lua-path|lua-path-v0.3.1.tar.gz|https://github.com/moteus/lua-path|v0.3.1"
  "morris.js|morris.js-14530d073380.tar.gz|https://github.com/morrisjs/morris.js|14530d0733801d5bef1264cf3d062ecace7e326b"
)

upstream_row() {
  local row
  for row in "${upstream_table[@]}"; do
    [[ "${row%%|*}" == "$1" ]] && { echo "$row"; return 0; }
  done
  lab_die "unknown upstream '$1'"
}

# Where clones are kept as tarballs, named like the pinned archives.
upstream_sources="$lab_cache/pai-images/sources"

# upstream_tarball NAME: the archive's path in $OPENPAI_UPSTREAM_DIR (a folder, or several joined
# by ":", searched in order) or among the kept clones, or nothing.
upstream_tarball() {
  local name glob tarball dir dirs=()
  IFS='|' read -r name glob _ _ <<<"$(upstream_row "$1")"
  [[ -n "${OPENPAI_UPSTREAM_DIR:-}" ]] && IFS=: read -ra dirs <<<"$OPENPAI_UPSTREAM_DIR"
  # The workplace's read-only copy beside the checkout (as .ci/run finds it), then kept clones.
  dirs+=("$project_dir/../shared/upstream" "$upstream_sources")
  for dir in "${dirs[@]}"; do
    # The glob may match several archives of one name: take the last in name order.
    for tarball in "$dir"/$glob; do :; done
    [[ -f "$tarball" ]] && { echo "$tarball"; return 0; }
  done
  return 0
}

# upstream_dir NAME: prints the unpacked tree (one top folder stripped), fetching it on first use.
# Fails (status 1, with a warning) when the source is not to be had; callers decide if that is fatal.
upstream_dir() {
  local name="$1" url ref tarball key dir clone
  IFS='|' read -r name _ url ref <<<"$(upstream_row "$name")"
  tarball="$(upstream_tarball "$name")"
  # The key names the content: the archive's digest, or the pinned ref of a clone.
  if [[ -n "$tarball" ]]; then
    key="$(sha256sum <"$tarball" | cut -c1-12)"
  else
    key="git-$(printf '%s' "$url@$ref" | sha256sum | cut -c1-12)"
  fi
  dir="$lab_cache/pai-images/upstream/$name-$key"
  if [[ ! -f "$dir.done" ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    if [[ -n "$tarball" ]]; then
      tar -xzf "$tarball" -C "$dir" --strip-components=1 --no-same-owner
      lab_changed "unpacked $(basename "$tarball") into $dir"
    else
      clone="$(mktemp -d)"
      # A tag clones with --branch; an untagged pinned commit needs a full clone and a checkout.
      if { [[ ! "$ref" =~ ^[0-9a-f]{40}$ ]] && git clone --quiet --depth 1 --branch "$ref" "$url" "$clone/src"; } \
        || { [[ "$ref" =~ ^[0-9a-f]{40}$ ]] && git clone --quiet "$url" "$clone/src" && git -C "$clone/src" checkout --quiet "$ref"; }; then
        git -C "$clone/src" submodule --quiet update --init --recursive 2>/dev/null || true
        rm -rf "$clone/src/.git"
        cp -a "$clone/src/." "$dir/"
        mkdir -p "$upstream_sources"
        tar -czf "$upstream_sources/$(upstream_row "$name" | cut -d'|' -f2 | sed "s/\*/${ref:0:12}/")" -C "$clone" --transform "s|^src|$name|" src
        rm -rf "$clone"
        lab_changed "cloned $url at $ref into $dir (kept in $upstream_sources)"
      else
        rm -rf "$clone" "$dir"
        lab_log "warning: no source for $name: no $(upstream_row "$name" | cut -d'|' -f2) in ${OPENPAI_UPSTREAM_DIR:-(OPENPAI_UPSTREAM_DIR unset)} and no clone of $url"
        return 1
      fi
    fi
    touch "$dir.done"
  fi
  echo "$dir"
}

# upstream_key NAME: a short digest of the source (for image cache keys) without unpacking it.
upstream_key() {
  local dir
  dir="$(upstream_dir "$1")" || return 1
  basename "$dir"
}

# upstream_copy NAME DEST: a private, writable copy of the tree (builds write into their tree).
upstream_copy() {
  local src
  src="$(upstream_dir "$1")" || return 1
  rm -rf "$2"
  mkdir -p "$(dirname "$2")"
  cp -a "$src" "$2"
}
