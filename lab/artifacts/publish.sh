#!/usr/bin/env bash
# Pushes every image the lab has built (lab/artifacts/build.sh, and any other recorded with
# lib/oci.sh) to a registry, under its upstream path without the registry host:
# registry.k8s.io/pause:3.10.1 -> REGISTRY/pause:3.10.1. Images already there (same manifest
# digest) are skipped. Usage: lab/artifacts/publish.sh [REGISTRY]  (default 10.78.0.1:5000)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=../lib/oci.sh
source "$here/../lib/oci.sh"

oci_publish "${1:-10.78.0.1:5000}"
