#!/usr/bin/env bash
# Stand-ins of the container images the project's PAI manifests run, built here from the
# upstream sources (no registry is reachable): each reproduces its upstream build files (layout,
# WORKDIR, ENTRYPOINT/CMD, start scripts, upstream code) on Debian. See README.md.
#   build.sh [IMAGE...]     IMAGE: a name from the list below (default: all, core path first)
# Sources: tarballs in $OPENPAI_UPSTREAM_DIR (CI: /work/shared/upstream; several folders may be
# joined with ":"), else tagged clones.
# Cached by source digest + recipe digest under $lab_cache: a warm run takes seconds.
set -euo pipefail

# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/rootfs.sh
source "$lab_dir/lib/rootfs.sh"
# shellcheck source=../lib/oci.sh
source "$lab_dir/lib/oci.sh"
# shellcheck source=versions
source "$lab_dir/pai-images/versions"
# shellcheck source=lib/common.sh
source "$lab_dir/pai-images/lib/common.sh"
# shellcheck source=lib/upstream.sh
source "$lab_dir/pai-images/lib/upstream.sh"
# shellcheck source=lib/go.sh
source "$lab_dir/pai-images/lib/go.sh"
# shellcheck source=lib/node.sh
source "$lab_dir/pai-images/lib/node.sh"
# shellcheck source=images/go.sh
source "$lab_dir/pai-images/images/go.sh"
# shellcheck source=images/node.sh
source "$lab_dir/pai-images/images/node.sh"
# shellcheck source=images/python.sh
source "$lab_dir/pai-images/images/python.sh"
# shellcheck source=images/postgres.sh
source "$lab_dir/pai-images/images/postgres.sh"
# shellcheck source=images/nginx.sh
source "$lab_dir/pai-images/images/nginx.sh"
# shellcheck source=images/small.sh
source "$lab_dir/pai-images/images/small.sh"

# Priority order: what a job needs first, monitoring last. Names map to pai_image_<name> with
# dashes as underscores.
all_images=(
  hivedscheduler frameworkcontroller rest-server database-controller postgres openpai-runtime
  nginx webportal log-manager-nginx log-manager-cleaner internal-storage-create
  generic-device-plugin job-exporter watchdog alert-handler prometheus alertmanager node-exporter
)

main() {
  local images=("$@") image n=0 start=$SECONDS step_start status built=() skipped=() failed=() lock_fd
  ((${#images[@]} > 0)) || images=("${all_images[@]}")
  for image in "${images[@]}"; do
    declare -F "pai_image_${image//-/_}" >/dev/null || lab_die "unknown image '$image' (known: ${all_images[*]})"
  done
  # One build at a time per cache (lab.sh build runs this script too): work folders are shared.
  mkdir -p "$pai_images_cache"
  exec {lock_fd}>"$pai_images_cache/build.lock"
  if ! flock -n "$lock_fd"; then
    lab_log "another build.sh is running on $pai_images_cache: waiting for it"
    flock "$lock_fd"
  fi
  for image in "${images[@]}"; do
    n=$((n + 1))
    step_start=$SECONDS
    lab_log "pai-images step $n of ${#images[@]}: $image (elapsed $((SECONDS - start)) s)"
    # A subshell with errexit on: a failing step fails the recipe, not the whole run.
    set +e
    (set -e; "pai_image_${image//-/_}")
    status=$?
    set -e
    case "$status" in
      0) built+=("$image") ;;
      2) skipped+=("$image") && lab_log "skipped $image: its upstream source is not at hand" ;;
      *) failed+=("$image") && lab_log "error: building $image failed (status $status)" ;;
    esac
    lab_log "pai-images step $n of ${#images[@]} ($image) done in $((SECONDS - step_start)) s"
  done
  lab_log "pai-images: ${#built[@]} ready, ${#skipped[@]} skipped${skipped[*]:+ (${skipped[*]})}, ${#failed[@]} failed${failed[*]:+ (${failed[*]})} in $((SECONDS - start)) s"
  ((${#failed[@]} == 0))
}

main "$@"
