#!/usr/bin/env bash
# Shared by every lab script (source it): pinned versions, cache and state locations, logging.
# Caches survive between runs and are keyed by version; state is what a running lab holds.
lab_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project_dir="$(cd "$lab_dir/.." && pwd)"
# shellcheck source=../versions
source "$lab_dir/versions"
# shellcheck source=../../scripts/toolchain.versions
source "$project_dir/scripts/toolchain.versions"

# shellcheck disable=SC2034 # used by the scripts that source this file
lab_cache="${OPENPAI_LAB_CACHE:-$HOME/.cache/openpai-lab}"
# shellcheck disable=SC2034
lab_state="${OPENPAI_LAB_STATE:-/var/lib/openpai-lab}"

lab_log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
lab_changed() { printf '[lab %s] changed: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
lab_die() { printf '[lab %s] error: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
