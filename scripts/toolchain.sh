#!/usr/bin/env bash
# Builds the Pulumi engine toolchain (CLI, Node.js language host, provider plugins) from Go
# modules, because the official installer's downloads are not reachable here, and installs it
# the way the official one does: `pulumi` with its bundled Node.js language host in one
# directory, the resource providers in the plugin cache ($PULUMI_HOME/plugins, ~/.pulumi by
# default) at the versions the SDKs in package.json ask for, so the engine uses them quietly.
# Each binary is cached under a key of its own inputs, so editing one rebuilds only that one;
# a second run only checks the cache (and the plugin cache).
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

# name | builder | cache key (changes whenever the binary's inputs change) | plugin version the
# SDK asks for (resource providers) | minutes a cold build takes on 2 cores
components=(
  "pulumi-language-nodejs|build_language_host|$PULUMI_VERSION-$plugins_key||1"
  "pulumi-resource-random|build_random_provider|$PULUMI_RANDOM_VERSION-$plugins_key|$PULUMI_RANDOM_VERSION|1"
  "pulumi-resource-command|build_command_provider|$PULUMI_COMMAND_VERSION-$plugins_key|$PULUMI_COMMAND_VERSION|1"
  "pulumi|build_cli|$PULUMI_VERSION||11"
  "pulumi-resource-kubernetes|build_kubernetes_provider|$PULUMI_KUBERNETES_PROVIDER_VERSION-$PULUMI_KUBERNETES_SDK_VERSION|v$PULUMI_KUBERNETES_RELEASE|20"
)

total_start=$SECONDS
binaries=()
remaining=0
for entry in "${components[@]}"; do
  IFS='|' read -r name _ key _ minutes <<<"$entry"
  [[ -x "$cache_root/$name/$key/$name" ]] || remaining=$((remaining + minutes))
done
((remaining == 0)) || log "cold cache: building about $remaining minutes of Go on 2 cores (later runs take seconds)"
n=0
for entry in "${components[@]}"; do
  IFS='|' read -r name builder key _ minutes <<<"$entry"
  n=$((n + 1))
  binary="$cache_root/$name/$key/$name"
  if [[ -x "$binary" ]]; then
    log "step $n of ${#components[@]}: $name cached ($key)"
  else
    start=$SECONDS
    log "step $n of ${#components[@]}: building $name ($key), about $minutes min; elapsed $((SECONDS - total_start))s, about $remaining min left"
    mkdir -p "$(dirname "$binary")"
    ("$builder" "$binary.tmp") >&2
    mv "$binary.tmp" "$binary"
    remaining=$((remaining - minutes))
    log "step $n of ${#components[@]}: built $name in $((SECONDS - start))s"
  fi
  binaries+=("$binary")
done

# pulumi and its bundled language host side by side (hard links: the engine looks beside the
# real pulumi binary, so it uses the host without a "from \$PATH" warning).
bin="$cache_root/bin-$(printf '%s\n' "${binaries[@]}" | sha256sum | cut -c1-12)"
mkdir -p "$bin"
for binary in "$cache_root/pulumi/$PULUMI_VERSION/pulumi" "${binaries[0]}"; do
  ln -f "$binary" "$bin/$(basename "$binary")" 2>/dev/null || cp -f "$binary" "$bin/$(basename "$binary")"
done
rm -f "$bin"/pulumi-resource-*
# The providers go where `pulumi plugin install` puts them, replacing a different build.
plugins="${PULUMI_HOME:-$HOME/.pulumi}/plugins"
for entry in "${components[@]}"; do
  IFS='|' read -r name _ key version _ <<<"$entry"
  [[ -n "$version" ]] || continue
  kind="${name#pulumi-}"
  kind="${kind%%-*}"
  plugin="${name#pulumi-"$kind"-}"
  installed="$plugins/$kind-$plugin-$version/$name"
  if ! cmp -s "$cache_root/$name/$key/$name" "$installed"; then
    "$bin/pulumi" plugin install "$kind" "$plugin" "$version" --file "$cache_root/$name/$key/$name" --reinstall >&2
    log "installed $name $version into $plugins"
  fi
done
log "toolchain ready in $((SECONDS - total_start))s: put $bin on PATH"
echo "$bin"
