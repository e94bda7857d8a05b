#!/usr/bin/env bash
# Pushes the images build.sh made (and only those) into a registry, under their upstream path
# without the host: docker.io/openpai/rest-server:v1.8.0 -> REGISTRY/openpai/rest-server:v1.8.0.
#   publish.sh REGISTRY        REGISTRY: host:port of a plain-HTTP registry (the lab's: 10.78.0.1:5000)
# Idempotent: an image whose manifest is already there is skipped (oci_publish).
set -euo pipefail

# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/oci.sh
source "$lab_dir/lib/oci.sh"
# shellcheck source=versions
source "$lab_dir/pai-images/versions"
# shellcheck source=lib/common.sh
source "$lab_dir/pai-images/lib/common.sh"

registry="${1:?usage: publish.sh REGISTRY (host:port)}"
[[ -s "$pai_images_refs_file" ]] || lab_die "no PAI images built yet: run lab/pai-images/build.sh first"

# oci_publish pushes every image oci.sh recorded (other parts of the lab record theirs too):
# narrow its list to this folder's images.
eval "oci_refs_all() $(declare -f oci_refs | tail -n +2)"
oci_refs() {
  oci_refs_all | awk -F'\t' 'NR == FNR { wanted[$0] = 1; next } $1 in wanted' "$pai_images_refs_file" -
}

oci_publish "$registry"
