#!/usr/bin/env bash
# The local lab: a lab behind a firewall on one machine (lab/README.md). One entry point:
#   lab.sh up                        bridge, machine settings, registry, apt repo, apt proxy
#   lab.sh build                     what the lab needs ahead of time (host rootfs, images, packages)
#   lab.sh host start NAME ADDRESS [--containerd 2]
#                                    boot a systemd host; prints "NAME ADDRESS" once sshd answers;
#                                    --containerd 2: its apt sources offer containerd 2.x
#   lab.sh host stop NAME            pull its plug (its disk stays); host start brings it back
#   lab.sh host rm NAME              stop it and delete its disk
#   lab.sh host ssh NAME [CMD...]    ssh in as the sudo user with the lab's key
#   lab.sh host list                 "NAME ADDRESS running|stopped" lines
#   lab.sh nfs up|down               the NFS server for team storage; up prints "ADDRESS PATH PSEUDO"
#   lab.sh status                    services and hosts, with each host's memory
#   lab.sh down                      stop everything, undo the machine settings, drop the state
#   lab.sh key                       path of the lab's SSH private key
#   lab.sh env                       KEY=VALUE lines for tests (registry, apt repo and its key, proxy, SSH)
# Every command is idempotent and says what it changed (on stderr); stdout carries only answers.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/rootfs.sh
source "$lab_dir/lib/rootfs.sh"
# shellcheck source=services/machine.sh
source "$lab_dir/services/machine.sh"
# shellcheck source=services/services.sh
source "$lab_dir/services/services.sh"
# shellcheck source=services/nfs.sh
source "$lab_dir/services/nfs.sh"
# shellcheck source=hosts/provision.sh
source "$lab_dir/hosts/provision.sh"
# shellcheck source=hosts/hosts.sh
source "$lab_dir/hosts/hosts.sh"

usage() {
  sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

need_root() {
  ((EUID == 0)) || lab_die "the lab changes the machine's network, mounts and cgroups: run it as root"
}

# One changing command at a time (tests may start hosts in parallel): they share the rootfs
# build, cgroup parents and state. Fd 9 is closed for the daemons and hosts they start.
lock() {
  need_root
  mkdir -p "$lab_cache"
  exec 9>"$lab_cache/lab.lock"
  flock 9
}

unlock() { exec 9>&-; }

cmd_up() {
  lock
  local start=$SECONDS
  mkdir -p "$lab_state"
  lab_machine_up
  lab_key >/dev/null
  lab_services_up
  lab_publish
  lab_log "lab up in $((SECONDS - start)) s: registry $lab_bridge_address:$lab_registry_port, apt repo :$lab_apt_repo_port, apt proxy :$lab_apt_proxy_port"
}

# The build steps: the hosts' rootfs first, then images and packages (artifacts) and the PAI
# images side by side once their parts exist: both spend much of their time waiting on downloads
# and on single-threaded work (npm, link steps), so two cores serve them at once.
cmd_build() {
  lock
  local start=$SECONDS script n=1 total=1 failed=0 pid
  local -a scripts=() pids=()
  for script in artifacts/build.sh pai-images/build.sh; do
    [[ -f "$lab_dir/$script" ]] && scripts+=("$script")
  done
  total=$((1 + ${#scripts[@]}))
  lab_log "step 1 of $total: host rootfs (elapsed 0 s)"
  lab_log "host rootfs: $(lab_rootfs host "${lab_host_packages[@]}")"
  lab_log "step 1 of $total done in $((SECONDS - start)) s"
  # The other steps cache their own work and may take long: hosts may start meanwhile.
  unlock
  for script in "${scripts[@]}"; do
    n=$((n + 1))
    lab_log "step $n of $total: $script, side by side with the others (elapsed $((SECONDS - start)) s)"
    bash "$lab_dir/$script" 9>&- &
    pids+=("$!")
  done
  n=1
  for pid in "${pids[@]}"; do
    script="${scripts[$((n - 1))]}"
    n=$((n + 1))
    if wait "$pid"; then
      lab_log "step $n of $total ($script) done (elapsed $((SECONDS - start)) s)"
    else
      lab_log "step $n of $total ($script) failed"
      failed=1
    fi
  done
  ((failed == 0)) || lab_die "the lab build failed (see the failed steps above)"
  lab_log "lab build done in $((SECONDS - start)) s"
}

cmd_host() {
  local action="${1:-}"
  (($# > 0)) && shift
  case "$action" in
    start)
      local flavour=""
      if (($# == 4)) && [[ "$3" == --containerd ]]; then
        [[ "$4" == 2 ]] || lab_die "--containerd '$4': the lab offers containerd 2 (or Debian 12's own without the option)"
        flavour=containerd2
      elif (($# != 2)); then
        usage
      fi
      lock
      lab_host_boot "$1" "$2" "$flavour"
      # Hosts boot in parallel: only their setup is one at a time.
      unlock
      lab_host_ready "$1" "$2"
      ;;
    stop)
      (($# == 1)) || usage
      lock
      lab_host_stop "$1"
      ;;
    rm)
      (($# == 1)) || usage
      lock
      lab_host_rm "$1"
      ;;
    ssh)
      (($# >= 1)) || usage
      lab_host_ssh "$@"
      ;;
    list) lab_host_list ;;
    *) usage ;;
  esac
}

cmd_nfs() {
  case "${1:-}" in
    up) lock && lab_nfs_up ;;
    down) lock && lab_nfs_down ;;
    *) usage ;;
  esac
}

cmd_down() {
  lock
  lab_hosts_down
  lab_nfs_down
  lab_services_down
  lab_machine_down
  if [[ -d "$lab_state" ]]; then
    findmnt -rn -o TARGET | grep -q "^$lab_state/" && lab_die "something is still mounted under $lab_state"
    rm -rf --one-file-system "$lab_state"
    lab_changed "removed $lab_state (caches stay in $lab_cache)"
  fi
}

cmd_status() {
  lab_machine_status
  lab_services_status
  lab_hosts_status
}

cmd_env() {
  cat <<ENV
LAB_REGISTRY=$lab_bridge_address:$lab_registry_port
LAB_APT_REPO=http://$lab_bridge_address:$lab_apt_repo_port
LAB_APT_PROXY=http://$lab_bridge_address:$lab_apt_proxy_port
LAB_APT_KEY_FINGERPRINT=$(cat "$lab_cache/apt-signing/fingerprint" 2>/dev/null)
LAB_SSH_USER=$lab_host_user
LAB_SSH_KEY=$(lab_key)
LAB_HOSTS_DIR=$lab_state/hosts
ENV
}

main() {
  local command="${1:-}"
  (($# > 0)) && shift
  case "$command" in
    up) cmd_up ;;
    build) cmd_build ;;
    host) cmd_host "$@" ;;
    nfs) cmd_nfs "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    key) lab_key ;;
    env) cmd_env ;;
    *) usage ;;
  esac
}

main "$@"
