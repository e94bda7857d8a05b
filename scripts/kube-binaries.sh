#!/usr/bin/env bash
# Builds the local test cluster's binaries from Go modules: kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, and for the lab's kubeadm nodes kubelet,
# kubeadm and kube-proxy (k8s.io/kubernetes), etcd and kwok.
# Cached per version like the engine toolchain; the last stdout line is the bin directory.
# Usage: kube-binaries.sh [--kubernetes VERSION]: with a release other than the pinned one (the
# lab's upgrade target, lab/versions), only that release's Kubernetes binaries, in their own dir.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=toolchain.versions
source "$here/toolchain.versions"

log() { printf '[kube-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cache_root="${OPENPAI_TOOLCHAIN_CACHE:-$HOME/.cache/openpai-toolchain}"
bin="$cache_root/kube-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin"
# name:builder:minutes a cold build takes on 2 cores
steps=("etcd:build_etcd:3" "kwok:build_kwok:3" "kube-apiserver:build_kubernetes:28")
if (($#)); then
  [[ $# -eq 2 && "$1" == --kubernetes && "$2" =~ ^v1\.[0-9]+\.[0-9]+$ ]] \
    || { echo "usage: $0 [--kubernetes v1.MINOR.PATCH]" >&2; exit 2; }
  KUBERNETES_VERSION="$2"
  bin="$cache_root/kubernetes-$KUBERNETES_VERSION/bin"
  steps=("kube-apiserver:build_kubernetes:28")
fi
work="$cache_root/build"
mkdir -p "$bin" "$work"
# Two runs at once would share (and delete) the same build dirs: the second waits for the first.
exec 9>"$work/.kube-binaries.lock"
flock 9
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-trimpath -mod=mod"
# Every binary built from k8s.io/kubernetes, all in one wrapper module (one Go build cache).
kubernetes_commands=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kubeadm kube-proxy)

kubernetes_missing() {
  local cmd
  for cmd in "${kubernetes_commands[@]}"; do [[ -x "$bin/$cmd" ]] || return 0; done
  return 1
}

build_kubernetes() {
  local dir="$work/kubernetes" minor="${KUBERNETES_VERSION#v1.}" staging
  minor="${minor%%.*}"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  printf 'module openpai.local/toolchain/kubernetes\n\ngo 1.26\n' >go.mod
  # k8s.io/kubernetes maps its staging modules to local paths: map each to its release instead.
  staging="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p' \
    | xargs sed -n 's|^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*|\1|p')"
  for module in $staging; do
    go mod edit -replace "$module=$module@v0.${KUBERNETES_VERSION#v1.}"
  done
  go get "k8s.io/kubernetes@$KUBERNETES_VERSION"
  local version_flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  local n=0
  for cmd in "${kubernetes_commands[@]}"; do
    n=$((n + 1))
    if [[ -x "$bin/$cmd" ]]; then
      log "  $n of ${#kubernetes_commands[@]}: $cmd cached"
      continue
    fi
    log "  $n of ${#kubernetes_commands[@]}: building $cmd (elapsed $((SECONDS - start))s)"
    go build -ldflags "-s -w$version_flags" -o "$bin/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
    mv "$bin/$cmd.tmp" "$bin/$cmd"
  done
}

build_etcd() {
  local dir="$work/etcd"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  printf 'module openpai.local/toolchain/etcd\n\ngo 1.26\n' >go.mod
  # etcd's own main lives in a module with local replaces; its server package runs the same.
  cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go mod tidy
  go build -ldflags "-s -w" -o "$bin/etcd.tmp" .
  mv "$bin/etcd.tmp" "$bin/etcd"
}

build_kwok() {
  local dir="$work/kwok" src stages="$bin/../kwok-stages"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  GOBIN="$dir" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # Node and pod lifecycles ("fast" set): nodes become Ready, scheduled pods Running and Ready.
  src="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')/kustomize/stage"
  mkdir -p "$stages"
  cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$src"/pod/fast/pod-*.yaml "$stages/"
  mv "$dir/kwok" "$bin/kwok"
}

start=$SECONDS
n=0
for entry in "${steps[@]}"; do
  IFS=: read -r name builder minutes <<<"$entry"
  n=$((n + 1))
  if [[ -x "$bin/$name" ]] && { [[ "$name" != kube-apiserver ]] || ! kubernetes_missing; }; then
    log "step $n of ${#steps[@]}: $name cached"
  else
    step_start=$SECONDS
    log "step $n of ${#steps[@]}: $builder, about $minutes min on a cold cache (elapsed $((SECONDS - start))s)"
    ("$builder") >&2
    log "step $n of ${#steps[@]}: done in $((SECONDS - step_start))s"
  fi
done
log "kube binaries ready in $((SECONDS - start))s"
echo "$bin"
