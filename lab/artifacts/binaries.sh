#!/usr/bin/env bash
# The lab's binaries other than Kubernetes' own (those come from scripts/kube-binaries.sh): built
# from the Go module proxy (and pause with gcc), each set in its own wrapper module so dependency
# versions never mix, cached under $lab_cache/bin/<name>-<key>. Source it after common.sh and oci.sh
# (for oci_key); the versions are pinned in lab/versions.

# shellcheck disable=SC2154 # lab_cache, lab_dir and the *_VERSION pins come from common.sh
artifact_go_env() {
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-trimpath -mod=mod"
}

# artifact_built NAME KEY: prints the cached directory of NAME built with KEY; false if not built.
artifact_built() {
  local dir="$lab_cache/bin/$1-$2"
  [[ -f "$dir/.done" ]] || return 1
  echo "$dir"
}

# artifact_build NAME KEY FUNCTION: runs FUNCTION OUTDIR WORKDIR (a fresh wrapper module dir), then
# keeps OUTDIR as the cached build of NAME for KEY; prints its path.
artifact_build() {
  local name="$1" key="$2" build="$3" out work
  out="$lab_cache/bin/$name-$key"
  work="$lab_cache/go-work/$name"
  artifact_go_env
  rm -rf "$out.tmp" "$work"
  mkdir -p "$out.tmp" "$work"
  (cd "$work" && "$build" "$out.tmp" "$work") >&2 || lab_die "building $name failed (work dir $work)"
  touch "$out.tmp/.done"
  rm -rf "$out"
  mv "$out.tmp" "$out"
  rm -rf "$work"
  echo "$out"
}

# artifact_wrapper_module NAME MODULE@VERSION...: a module that requires exactly these releases.
artifact_wrapper_module() {
  local name="$1"
  shift
  printf 'module openpai.local/lab/%s\n\ngo 1.26\n' "$name" >go.mod
  go get "$@"
}

build_crictl() {
  local out="$1"
  artifact_wrapper_module crictl "sigs.k8s.io/cri-tools@$CRI_TOOLS_VERSION"
  go build -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION" \
    -o "$out/crictl" sigs.k8s.io/cri-tools/cmd/crictl
}

# The plugins of the upstream release archive (cni-plugins-linux-amd64-<v>.tgz), which both
# kubernetes-cni (/opt/cni/bin) and the kube-router image (/usr/libexec/cni) carry.
build_cni_plugins() {
  local out="$1" module=github.com/containernetworking/plugins dir category plugin
  artifact_wrapper_module cni-plugins "$module@$CNI_PLUGINS_VERSION"
  dir="$(go list -m -f '{{.Dir}}' "$module")"
  for category in meta main ipam; do
    for plugin in "$dir/plugins/$category"/*/; do
      plugin="$(basename "$plugin")"
      [[ "$plugin" != windows ]] || continue
      go build -ldflags "-s -w -X $module/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
        -o "$out/$plugin" "$module/plugins/$category/$plugin"
    done
  done
  cp "$dir/LICENSE" "$dir/README.md" "$out/"
  chmod 0644 "$out/LICENSE" "$out/README.md"
}

build_coredns() {
  local out="$1"
  artifact_wrapper_module coredns "github.com/coredns/coredns@$COREDNS_VERSION"
  go build -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    -o "$out/coredns" github.com/coredns/coredns
}

# etcd's modules replace each other with local paths: require every one at the same release.
build_etcd() {
  local out="$1" module
  artifact_wrapper_module etcd "go.etcd.io/etcd/server/v3@$ETCD_IMAGE_VERSION" \
    "go.etcd.io/etcd/etcdctl/v3@$ETCD_IMAGE_VERSION" "go.etcd.io/etcd/etcdutl/v3@$ETCD_IMAGE_VERSION" \
    "go.etcd.io/etcd/api/v3@$ETCD_IMAGE_VERSION" "go.etcd.io/etcd/client/v3@$ETCD_IMAGE_VERSION" \
    "go.etcd.io/etcd/client/pkg/v3@$ETCD_IMAGE_VERSION" "go.etcd.io/etcd/pkg/v3@$ETCD_IMAGE_VERSION"
  # etcd's own main lives in the repository's root module (not served): its etcdmain runs the same.
  mkdir -p etcd
  cat >etcd/main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go build -ldflags "-s -w" -o "$out/etcd" ./etcd
  for module in etcdctl etcdutl; do
    go build -ldflags "-s -w" -o "$out/$module" "go.etcd.io/etcd/$module/v3"
  done
}

# kube-router and gobgp (the BGP CLI its image carries), gobgp at the version kube-router requires.
build_kube_router() {
  local out="$1" module=github.com/cloudnativelabs/kube-router/v2
  artifact_wrapper_module kube-router "$module@$KUBE_ROUTER_VERSION"
  go build -ldflags "-s -w -X $module/pkg/version.Version=$KUBE_ROUTER_VERSION -X $module/pkg/version.BuildDate=unknown" \
    -o "$out/kube-router" "$module/cmd/kube-router"
  go build -ldflags "-s -w" -o "$out/gobgp" github.com/osrg/gobgp/v3/cmd/gobgp
}

# containerd 2.x as upstream's Makefile builds it (cmd/containerd, cmd/ctr, the runc shim), static
# (CGO_ENABLED=0, so no btrfs snapshotter, as the no_btrfs tag also says); the version is set as
# Debian and Ubuntu set it (without the v), so nodes report containerd://2.2.9. The module has no
# git revision: the package version stands in for it.
build_containerd() {
  local out="$1" module=github.com/containerd/containerd/v2 tags="urfave_cli_no_docs no_btrfs" ldflags
  artifact_wrapper_module containerd "$module@$CONTAINERD2_VERSION"
  ldflags="-s -w -X $module/version.Version=${CONTAINERD2_VERSION#v} -X $module/version.Revision=$CONTAINERD2_PACKAGE_VERSION -X $module/version.Package=$module"
  go build -tags "$tags" -ldflags "$ldflags" -o "$out/containerd" "$module/cmd/containerd"
  go build -tags "$tags" -ldflags "$ldflags" -o "$out/ctr" "$module/cmd/ctr"
  go build -tags "$tags no_grpc" -ldflags "$ldflags" -o "$out/containerd-shim-runc-v2" "$module/cmd/containerd-shim-runc-v2"
  cp "$(go list -m -f '{{.Dir}}' "$module")/LICENSE" "$out/"
  chmod 0644 "$out/LICENSE"
}

build_go_runner() {
  local out="$1"
  printf 'module openpai.local/lab/go-runner\n\ngo 1.26\n' >go.mod
  cp "$lab_dir/artifacts/go-runner/main.go" .
  go build -ldflags "-s -w" -o "$out/go-runner" .
}

# pause is C: static, -Os, the version baked in as upstream's Makefile does (v<tag>-<revision>).
build_pause() {
  local out="$1" src
  src="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-$KUBERNETES_VERSION" \
    -o "$out/pause" "$src/build/pause/linux/pause.c"
  strip "$out/pause"
}

# artifact_key NAME: the cache key of a binary set: version, Go release and the build steps
# themselves (the function's text, not the whole file). NAME: crictl cni-plugins coredns etcd
# kube-router containerd go-runner pause.
artifact_key() {
  local name="$1" version
  case "$name" in
    crictl) version="$CRI_TOOLS_VERSION" ;;
    cni-plugins) version="$CNI_PLUGINS_VERSION" ;;
    coredns) version="$COREDNS_VERSION" ;;
    etcd) version="$ETCD_IMAGE_VERSION" ;;
    kube-router) version="$KUBE_ROUTER_VERSION" ;;
    containerd) version="$CONTAINERD2_VERSION $CONTAINERD2_PACKAGE_VERSION" ;;
    go-runner) version="$(cat "$lab_dir/artifacts/go-runner/main.go")" ;;
    pause) version="$PAUSE_VERSION $KUBERNETES_VERSION $(gcc -dumpfullversion)" ;;
    *) lab_die "unknown binaries '$name'" ;;
  esac
  artifact_go_env
  oci_key "$name" "$version" "$(go env GOVERSION)" "$(declare -f "build_${name//-/_}" artifact_wrapper_module)"
}

# artifact_binaries NAME: prints the directory holding NAME's binaries, building it if needed.
artifact_binaries() {
  local name="$1" key
  key="$(artifact_key "$name")"
  artifact_built "$name" "$key" || artifact_build "$name" "$key" "build_${name//-/_}"
}
