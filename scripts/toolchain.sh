#!/usr/bin/env bash
# Builds the Pulumi engine toolchain (CLI, Node.js language host, provider plugins) from Go
# modules, because the official installer's downloads are not reachable here.
# Binaries are cached per version set; a second run only checks them.
# Usage: scripts/toolchain.sh        (last stdout line: the bin directory to put on PATH)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/toolchain.versions
source "$here/toolchain.versions"

log() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ -z "${OPENPAI_TOOLCHAIN_FORCE_BUILD:-}" ]] && command -v pulumi >/dev/null 2>&1 \
  && [[ "$(command -v pulumi)" != "${OPENPAI_TOOLCHAIN_CACHE:-$HOME/.cache/openpai-toolchain}"/* ]]; then
  log "using the pulumi already on PATH: $(command -v pulumi) ($(pulumi version))"
  dirname "$(command -v pulumi)"
  exit 0
fi

cache_root="${OPENPAI_TOOLCHAIN_CACHE:-$HOME/.cache/openpai-toolchain}"
key="$(cat "$here/toolchain.versions" "$here/toolchain.sh" "$here"/toolchain/*/go.mod "$here"/toolchain/*/*.go 2>/dev/null | sha256sum | cut -c1-12)"
bin="$cache_root/$key/bin"
work="$cache_root/build"
mkdir -p "$bin" "$work"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-trimpath -mod=mod"

timed() {
  local name="$1"; shift
  local start=$SECONDS
  log "building $name"
  "$@"
  log "built $name in $((SECONDS - start))s"
}

build_cli() {
  local dir="$work/pulumi-cli"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  cat >go.mod <<EOF
module openpai.local/toolchain/pulumi

go 1.26

replace github.com/atotto/clipboard => ${CLIPBOARD_FORK/@/ }
EOF
  go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION"
  go build -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_language_host() {
  # Our own Node.js language host (scripts/toolchain/language-nodejs): the upstream one
  # is a separate module that the module proxy here does not serve.
  cd "$here/toolchain/language-nodejs"
  go build -ldflags "-s -w -X main.version=$PULUMI_VERSION" -o "$bin/pulumi-language-nodejs" .
}

build_kubernetes_provider() {
  local module="github.com/pulumi/pulumi-kubernetes/provider/v4"
  local dir="$work/pulumi-kubernetes"
  local src
  src="$(cd "$work" && go mod download -json "$module@$PULUMI_KUBERNETES_PROVIDER_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  rm -rf "$dir" && cp -r "$src" "$dir" && chmod -R u+w "$dir" && cd "$dir"
  # The module replaces its SDK with ../sdk, which is not in the module zip.
  go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 \
    -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_KUBERNETES_SDK_VERSION"
  # schema-embed.json and terraform-mapping-embed.json are git-ignored upstream: generate them.
  (cd cmd/pulumi-resource-kubernetes && VERSION="$PULUMI_KUBERNETES_RELEASE" go generate)
  go build -ldflags "-s -w -X $module/pkg/version.Version=$PULUMI_KUBERNETES_RELEASE" \
    -o "$bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
}

want=(pulumi pulumi-language-nodejs pulumi-resource-kubernetes)
builders=(build_cli build_language_host build_kubernetes_provider)
total_start=$SECONDS
for i in "${!want[@]}"; do
  if [[ -x "$bin/${want[$i]}" ]]; then
    log "cached: ${want[$i]}"
  else
    (timed "${want[$i]}" "${builders[$i]}")
  fi
done
log "toolchain ready in $((SECONDS - total_start))s: $bin"
echo "$bin"
