#!/usr/bin/env bash
# Builds test/hived-loader (HiveD v0.3.4's own config loading, main.go) against the pinned HiveD
# source the way lab/pai-images builds the hivedscheduler image: a GOPATH copy of the source
# (its vendor/ predates go.mod), GO111MODULE=off, this machine's Go. Prints the binary's path.
# The binary is cached under $lab_cache/hived-loader/<digest of the source, Go and these files>;
# a cold build takes a few minutes on one core (client-go), a warm one nothing.
# Source: hivedscheduler-v0.3.4.tar.gz in $OPENPAI_UPSTREAM_DIR (lab/pai-images/lib/upstream.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../lab/lib/common.sh
source "$here/../../lab/lib/common.sh"
# shellcheck source=../../lab/pai-images/lib/upstream.sh
source "$here/../../lab/pai-images/lib/upstream.sh"
# shellcheck source=../../lab/pai-images/lib/go.sh
source "$here/../../lab/pai-images/lib/go.sh"

tarball="$(upstream_tarball hivedscheduler)"
[[ -n "$tarball" ]] || lab_die "no hivedscheduler-v0.3.4.tar.gz in ${OPENPAI_UPSTREAM_DIR:-(OPENPAI_UPSTREAM_DIR unset)}"
key="$({ sha256sum <"$tarball"; go_version_string; sha256sum "$here/main.go" "$here/build.sh" | cut -d' ' -f1; } | sha256sum | cut -c1-16)"
cache="$lab_cache/hived-loader"
bin="$cache/$key/hived-loader"
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
project="$work/gopath/src/github.com/microsoft/hivedscheduler"
upstream_copy hivedscheduler "$project"
mkdir -p "$project/cmd/openpai-hived-loader"
cp "$here/main.go" "$project/cmd/openpai-hived-loader/main.go"
lab_log "building the HiveD config loader from $(basename "$tarball") (one core)"
if ! (cd "$project" && GOPATH="$work/gopath" GO111MODULE=off go_env nice go build -p 1 -o "$work/hived-loader" ./cmd/openpai-hived-loader) >"$work/build.log" 2>&1; then
  tail -20 "$work/build.log" >&2
  lab_die "the HiveD config loader did not build"
fi
mkdir -p "$(dirname "$bin")"
mv "$work/hived-loader" "$bin.partial"
mv "$bin.partial" "$bin"
lab_changed "built $bin"
echo "$bin"
