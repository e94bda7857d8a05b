#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# Go builds of the upstream programs with this machine's Go (/usr/local/go): the upstream build
# scripts run as they are, with caches under $lab_cache so a rebuild after a change is quick.
# Static binaries (CGO off): the upstream images built on alpine; ours run on Debian or scratch.
# -trimpath: no build-machine paths in the binaries (panics print module paths, as upstream's).
# Source it after lab/lib/common.sh.

go_binary() {
  local go
  for go in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go; do
    [[ -x "$go" ]] && { echo "$go"; return 0; }
  done
  lab_die "Go is missing (expected /usr/local/go/bin/go)"
}

# go_env COMMAND...: runs COMMAND with the Go toolchain first on PATH and the lab's Go caches.
go_env() {
  local go_dir
  go_dir="$(dirname "$(go_binary)")"
  PATH="$go_dir:$PATH" \
    GOTOOLCHAIN=local \
    CGO_ENABLED=0 \
    GOCACHE="$lab_cache/pai-images/go-build-cache" \
    GOMODCACHE="$lab_cache/pai-images/go-mod-cache" \
    GOFLAGS="-trimpath ${GOFLAGS:-}" \
    "$@"
}

go_version_string() { "$(go_binary)" env GOVERSION; }
