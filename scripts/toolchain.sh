#!/usr/bin/env bash
# Builds the Pulumi engine toolchain (CLI, Node.js language host, provider plugins) from Go
# modules, because the official installer's downloads are not reachable here.
# Each binary is cached under a key of its own inputs, so editing one rebuilds only that one;
# a second run only checks the cache.
# Usage: scripts/toolchain.sh        (the last stdout line is the bin directory to put on PATH)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=toolchain.versions
source "$here/toolchain.versions"

log() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cache_root="${OPENPAI_TOOLCHAIN_CACHE:-$HOME/.cache/openpai-toolchain}"

if [[ -z "${OPENPAI_TOOLCHAIN_FORCE_BUILD:-}" ]] && command -v pulumi >/dev/null 2>&1 \
  && [[ "$(command -v pulumi)" != "$cache_root"/* ]]; then
  log "using the pulumi already on PATH: $(command -v pulumi) ($(pulumi version)); it installs its own plugins"
  dirname "$(command -v pulumi)"
  exit 0
fi

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-trimpath -mod=mod"
work="$cache_root/build"
mkdir -p "$work"

build_cli() {
  local out="$1" dir="$work/pulumi-cli"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  cat >go.mod <<EOF
module openpai.local/toolchain/pulumi

go 1.26

replace github.com/atotto/clipboard => ${CLIPBOARD_FORK/@/ }
EOF
  # pkg/v3 replaces sdk/v3 with a local path upstream: require both at the same tag instead.
  go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION"
  go build -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$out" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_kubernetes_provider() {
  local out="$1" module="github.com/pulumi/pulumi-kubernetes/provider/v4" dir="$work/pulumi-kubernetes" src
  src="$(cd "$work" && go mod download -json "$module@$PULUMI_KUBERNETES_PROVIDER_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  rm -rf "$dir" && cp -r "$src" "$dir" && chmod -R u+w "$dir" && cd "$dir"
  # The module replaces its SDK with ../sdk, which is not in the module zip.
  go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 \
    -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_KUBERNETES_SDK_VERSION"
  # schema-embed.json and terraform-mapping-embed.json are git-ignored upstream: generate them.
  (cd cmd/pulumi-resource-kubernetes && VERSION="$PULUMI_KUBERNETES_RELEASE" go generate)
  go build -ldflags "-s -w -X $module/pkg/version.Version=$PULUMI_KUBERNETES_RELEASE" \
    -o "$out" ./cmd/pulumi-resource-kubernetes
}

# The upstream Node.js language host, random and command providers are modules the module proxy
# here does not serve (403 for every version): scripts/toolchain/plugins holds our implementations.
build_plugin() {
  local out="$1" name="$2" ver="$3"
  cd "$here/toolchain/plugins"
  go build -ldflags "-s -w -X main.version=$ver" -o "$out" "./cmd/$name"
}
build_language_host() { build_plugin "$1" pulumi-language-nodejs "$PULUMI_VERSION"; }
build_random_provider() { build_plugin "$1" pulumi-resource-random "$PULUMI_RANDOM_VERSION"; }
build_command_provider() { build_plugin "$1" pulumi-resource-command "$PULUMI_COMMAND_VERSION"; }

# Our plugins share code: a change anywhere in the module rebuilds all three (seconds).
plugins_key="$(find "$here/toolchain/plugins" -type f \( -name '*.go' -o -name 'go.*' \) -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-12)"

# name | builder | cache key (changes whenever the binary's inputs change)
components=(
  "pulumi-language-nodejs|build_language_host|$PULUMI_VERSION-$plugins_key"
  "pulumi-resource-random|build_random_provider|$PULUMI_RANDOM_VERSION-$plugins_key"
  "pulumi-resource-command|build_command_provider|$PULUMI_COMMAND_VERSION-$plugins_key"
  "pulumi|build_cli|$PULUMI_VERSION"
  "pulumi-resource-kubernetes|build_kubernetes_provider|$PULUMI_KUBERNETES_PROVIDER_VERSION-$PULUMI_KUBERNETES_SDK_VERSION"
)

total_start=$SECONDS
links=()
for entry in "${components[@]}"; do
  IFS='|' read -r name builder key <<<"$entry"
  binary="$cache_root/$name/$key/$name"
  if [[ -x "$binary" ]]; then
    log "cached: $name ($key)"
  else
    start=$SECONDS
    log "building $name ($key): this takes minutes on a cold cache"
    mkdir -p "$(dirname "$binary")"
    ("$builder" "$binary.tmp") >&2
    mv "$binary.tmp" "$binary"
    log "built $name in $((SECONDS - start))s"
  fi
  links+=("$binary")
done

bin="$cache_root/bin-$(printf '%s\n' "${links[@]}" | sha256sum | cut -c1-12)"
mkdir -p "$bin"
for binary in "${links[@]}"; do
  ln -sfn "$binary" "$bin/$(basename "$binary")"
done
log "toolchain ready in $((SECONDS - total_start))s"
echo "$bin"
