#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# Go services: HiveD, FrameworkController (and its frameworkbarrier, which openpai-runtime
# embeds), OpenPAI's watchdog, the generic device plugin for /dev/fuse.
# Each recipe returns 0 (built or cached), 2 (its source is not to be had: skipped), else failed.

# pai_go_image_key SOURCE_KEY TREE: the cache key of a Go service image built from SOURCE_KEY
# on the Debian TREE.
pai_go_image_key() {
  oci_key "$1" "$(go_version_string)" "tree $(basename "$2")" "${BASH_SOURCE[0]}" "$pai_images_dir/lib/go.sh" "${pai_common_inputs[@]}"
}

# pai_alpine_bash_image REF KEY TREE DIR INSTALL: starts the layout upstream's alpine+bash Go
# images share: bash and coreutils, the accounts, /bin/sh (busybox there: `kubectl exec` and
# shell-form commands) as bash, DIR's files, INSTALL_DIR and WORKDIR INSTALL. The caller adds
# the rest (entrypoint, CA bundle) and commits.
pai_alpine_bash_image() {
  local ref="$1" key="$2" tree="$3" dir="$4" install="$5"
  oci_begin "$ref" "$key"
  oci_add_packages "$tree" bash coreutils
  pai_add_accounts
  pai_links_layer /usr/bin/sh=bash
  oci_add_dir "$dir"
  oci_env "$pai_default_path" "INSTALL_DIR=$install"
  oci_workdir "$install"
}

# hivedscheduler/build/hivedscheduler/Dockerfile: go-build.sh in a GOPATH layout, then on
# alpine+bash: /opt/hivedscheduler/hivedscheduler/{hivedscheduler,start.sh,hivedscheduler.yaml},
# WORKDIR there, ENTRYPOINT ["./start.sh"].
pai_image_hivedscheduler() {
  local ref=docker.io/hivedscheduler/hivedscheduler:v0.3.4 source_key tree key work project install=/opt/hivedscheduler/hivedscheduler
  source_key="$(upstream_key hivedscheduler)" || return 2
  tree="$(pai_tree small)"
  key="$(pai_go_image_key "$source_key" "$tree")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work hivedscheduler)"
  # The Dockerfile copies the repository to $GOPATH/src/github.com/microsoft/hivedscheduler and
  # builds there without modules (its vendor/ predates go.mod).
  project="$work/gopath/src/github.com/microsoft/hivedscheduler"
  upstream_copy hivedscheduler "$project"
  GOPATH="$work/gopath" GO111MODULE=off go_env bash "$project/build/hivedscheduler/go-build.sh" >"$work/build.log" 2>&1 \
    || { tail -20 "$work/build.log" >&2; return 1; }
  mkdir -p "$work/image$install"
  cp -a "$project/dist/hivedscheduler/." "$work/image$install/"
  pai_alpine_bash_image "$ref" "$key" "$tree" "$work/image" "$install"
  oci_entrypoint ./start.sh
  oci_commit >/dev/null
  rm -rf "$work"
}

# frameworkcontroller/build/frameworkcontroller/Dockerfile: go-build.sh (-mod=vendor), then on
# alpine+bash: /opt/frameworkcontroller/frameworkcontroller/{frameworkcontroller,start.sh,
# frameworkcontroller.yaml}, WORKDIR there, ENTRYPOINT ["./start.sh"].
pai_image_frameworkcontroller() {
  local ref=docker.io/frameworkcontroller/frameworkcontroller:v1.0.1 source_key tree key work install=/opt/frameworkcontroller/frameworkcontroller
  source_key="$(upstream_key frameworkcontroller)" || return 2
  tree="$(pai_tree small)"
  key="$(pai_go_image_key "$source_key" "$tree")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work frameworkcontroller)"
  upstream_copy frameworkcontroller "$work/src"
  go_env bash "$work/src/build/frameworkcontroller/go-build.sh" >"$work/build.log" 2>&1 \
    || { tail -20 "$work/build.log" >&2; return 1; }
  mkdir -p "$work/image$install"
  cp -a "$work/src/dist/frameworkcontroller/." "$work/image$install/"
  pai_alpine_bash_image "$ref" "$key" "$tree" "$work/image" "$install"
  oci_entrypoint ./start.sh
  oci_commit >/dev/null
  rm -rf "$work"
}

# frameworkcontroller/build/frameworkbarrier/go-build.sh: the barrier binary and its start.sh,
# which openpai-runtime's image copies into its init.d. Prints the dist folder (cached).
pai_frameworkbarrier_dist() {
  local source_key key dir work
  source_key="$(upstream_key frameworkcontroller)" || return 2
  key="$(oci_key "$source_key" "$(go_version_string)" "${BASH_SOURCE[0]}")"
  dir="$pai_images_cache/frameworkbarrier-$key"
  if [[ ! -f "$dir.done" ]]; then
    work="$(pai_work frameworkbarrier)"
    upstream_copy frameworkcontroller "$work/src"
    go_env bash "$work/src/build/frameworkbarrier/go-build.sh" >"$work/build.log" 2>&1 \
      || { tail -20 "$work/build.log" >&2; return 1; }
    rm -rf "$dir"
    cp -a "$work/src/dist/frameworkbarrier" "$dir"
    touch "$dir.done"
    rm -rf "$work"
  fi
  echo "$dir"
}

# pai src/watchdog/build/watchdog.common.dockerfile: src/build/watchdog/go-build.sh (modules
# from the Go module proxy), then on alpine+bash: /opt/watchdog/*, WORKDIR /opt/watchdog, no
# ENTRYPOINT or CMD (the deploy template gives the command).
pai_image_watchdog() {
  local ref source_key tree key work install=/opt/watchdog
  ref="$(pai_ref watchdog)"
  source_key="$(upstream_key pai)" || return 2
  tree="$(pai_tree small)"
  key="$(pai_go_image_key "$source_key" "$tree")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work watchdog)"
  upstream_copy pai "$work/pai"
  go_env bash "$work/pai/src/watchdog/src/build/watchdog/go-build.sh" >"$work/build.log" 2>&1 \
    || { tail -20 "$work/build.log" >&2; return 1; }
  mkdir -p "$work/image$install"
  cp -a "$work/pai/src/watchdog/src/dist/watchdog/." "$work/image$install/"
  pai_alpine_bash_image "$ref" "$key" "$tree" "$work/image" "$install"
  pai_add_ca_bundle "$tree"
  oci_commit >/dev/null
  rm -rf "$work"
}

# squat/generic-device-plugin Dockerfile: FROM scratch, /generic-device-plugin, ENTRYPOINT it.
# Upstream builds with nix; the module is vendored, so `go build -mod=vendor` gives the same
# program. OpenPAI v1.8 itself used everpeace/k8s-host-device-plugin; the project uses this one.
pai_image_generic_device_plugin() {
  local ref=ghcr.io/squat/generic-device-plugin:0.1.0 source_key key work
  source_key="$(upstream_key generic-device-plugin)" || return 2
  key="$(oci_key "$source_key" "$(go_version_string)" "${BASH_SOURCE[0]}" \
    "$pai_images_dir/lib/go.sh" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work generic-device-plugin)"
  upstream_copy generic-device-plugin "$work/src"
  mkdir -p "$work/image"
  (cd "$work/src" && go_env go build -mod=vendor -trimpath \
    -ldflags "-s -w -X github.com/squat/generic-device-plugin/version.Version=0.1.0" \
    -o "$work/image/generic-device-plugin" .) >"$work/build.log" 2>&1 \
    || { tail -20 "$work/build.log" >&2; return 1; }
  oci_begin "$ref" "$key"
  oci_add_dir "$work/image"
  oci_entrypoint /generic-device-plugin
  oci_commit >/dev/null
  rm -rf "$work"
}
