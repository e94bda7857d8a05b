#!/usr/bin/env bash
# Shows that each built image really starts: unpacks it (umoci) and runs its entrypoint in a
# sandbox (lib/sandbox.sh: chroot in new mount/PID/network namespaces, loopback only), as far as
# it gets without a cluster; checks what it printed or served. Run build.sh first; needs root.
#   smoke-test.sh [IMAGE...]        names as build.sh's (default: every image built)
# Logs: $lab_cache/pai-images/smoke/<image>.log. Ends with "N passed, N failed".
set -euo pipefail

# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/oci.sh
source "$lab_dir/lib/oci.sh"
# shellcheck source=versions
source "$lab_dir/pai-images/versions"
# shellcheck source=lib/common.sh
source "$lab_dir/pai-images/lib/common.sh"
# shellcheck source=lib/sandbox.sh
source "$lab_dir/pai-images/lib/sandbox.sh"
# shellcheck source=smoke-cases.sh
source "$lab_dir/pai-images/smoke-cases.sh"

((EUID == 0)) || lab_die "the smoke test makes namespaces and mounts: run it as root"

# Image name (as build.sh knows it) -> reference, for the images that have a smoke case.
declare -A smoke_refs=(
  [hivedscheduler]=docker.io/hivedscheduler/hivedscheduler:v0.3.4
  [frameworkcontroller]=docker.io/frameworkcontroller/frameworkcontroller:v1.0.1
  [rest-server]="$(pai_ref rest-server)"
  [database-controller]="$(pai_ref database-controller)"
  [postgres]=docker.io/library/postgres:16.6
  [openpai-runtime]="$(pai_ref openpai-runtime)"
  [nginx]=docker.io/library/nginx:1.27.3
  [webportal]="$(pai_ref webportal)"
  [log-manager-nginx]="$(pai_ref log-manager-nginx)"
  [log-manager-cleaner]="$(pai_ref log-manager-cleaner)"
  [internal-storage-create]="$(pai_ref internal-storage-create)"
  [generic-device-plugin]=ghcr.io/squat/generic-device-plugin:0.1.0
  [job-exporter]="$(pai_ref job-exporter)"
  [watchdog]="$(pai_ref watchdog)"
  [alert-handler]="$(pai_ref alert-handler)"
  [prometheus]=docker.io/prom/prometheus:v3.1.0
  [alertmanager]=docker.io/prom/alertmanager:v0.28.0
  [node-exporter]=docker.io/prom/node-exporter:v1.8.2
)
smoke_order=(
  hivedscheduler frameworkcontroller rest-server database-controller postgres openpai-runtime nginx
  webportal log-manager-nginx log-manager-cleaner internal-storage-create generic-device-plugin
  job-exporter watchdog alert-handler prometheus alertmanager node-exporter
)

main() {
  local images=("$@") image ref work log passed=0 failed=0 failures=() start
  if ((${#images[@]} == 0)); then
    for image in "${smoke_order[@]}"; do
      oci_refs | cut -f1 | grep -qxF "${smoke_refs[$image]}" && images+=("$image")
    done
  fi
  work="$(mktemp -d /tmp/pai-images-smoke.XXXXXX)"
  mkdir -p "$pai_images_cache/smoke"
  for image in "${images[@]}"; do
    ref="${smoke_refs[$image]:-}"
    [[ -n "$ref" ]] || lab_die "no smoke case for '$image'"
    log="$pai_images_cache/smoke/$image.log"
    start=$SECONDS
    sandbox_unpack "$ref" "$work/$image"
    if "smoke_${image//-/_}" "$work/$image" >"$log" 2>&1; then
      passed=$((passed + 1))
      lab_log "PASS $image ($ref) in $((SECONDS - start)) s: $(grep '^evidence:' "$log" | tail -n 3 | cut -c11- | paste -sd'|' | cut -c1-300)"
    else
      failed=$((failed + 1))
      failures+=("$image")
      lab_log "FAIL $image ($ref) in $((SECONDS - start)) s; last lines of $log:"
      tail -n 15 "$log" >&2
    fi
    rm -rf "${work:?}/$image"
  done
  rm -rf "$work"
  echo "$passed passed, $failed failed"
  ((failed == 0)) || { lab_log "failed: ${failures[*]}"; return 1; }
}

main "$@"
