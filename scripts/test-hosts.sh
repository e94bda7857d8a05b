#!/usr/bin/env bash
# Test hosts for the host-provisioning tests: network namespaces on a private bridge, each with
# its own address, hostname (UTS namespace) and sshd, reached over real SSH with a key made per run.
#   scripts/test-hosts.sh up N       start hosts 1..N (idempotent); prints "name address" lines
#   scripts/test-hosts.sh stop I     stop host I's sshd (the host goes unreachable)
#   scripts/test-hosts.sh start I    start it again
#   scripts/test-hosts.sh down       remove every host, the bridge and the state
# State (key, sshd configs, pids) lives in $OPENPAI_TEST_HOSTS_DIR (default /tmp/openpai-test-hosts).
# Needs root, iproute2 and openssh-server (sshd). Traffic stays on the bridge.
set -euo pipefail

dir="${OPENPAI_TEST_HOSTS_DIR:-/tmp/openpai-test-hosts}"
prefix="${OPENPAI_TEST_HOSTS_PREFIX:-opai}"
subnet="${OPENPAI_TEST_HOSTS_SUBNET:-10.213.0}"
bridge="${prefix}br0"

log() { printf '[test-hosts %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

host_name() { echo "${prefix}-h$1"; }
host_address() { echo "$subnet.$((10 + $1))"; }

ensure_bridge() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$subnet.1/24" dev "$bridge"
    ip link set "$bridge" up
    log "created bridge $bridge ($subnet.1/24)"
  fi
}

ensure_key() {
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [[ ! -f "$dir/id_ed25519" ]]; then
    ssh-keygen -q -t ed25519 -N '' -C openpai-test-hosts -f "$dir/id_ed25519"
    cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
    log "generated the login key $dir/id_ed25519"
  fi
}

start_sshd() {
  local i="$1" ns address hdir
  ns="$(host_name "$i")"
  address="$(host_address "$i")"
  hdir="$dir/$ns"
  if [[ -f "$hdir/sshd.pid" ]] && kill -0 "$(cat "$hdir/sshd.pid")" 2>/dev/null; then
    return
  fi
  mkdir -p "$hdir"
  [[ -f "$hdir/host_key" ]] || ssh-keygen -q -t ed25519 -N '' -f "$hdir/host_key"
  cat >"$hdir/sshd_config" <<CONFIG
ListenAddress $address
Port 22
HostKey $hdir/host_key
PidFile $hdir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AcceptEnv OPENPAI_*
CONFIG
  mkdir -p /run/sshd
  # Its own UTS namespace gives each host its own hostname, as a real machine has.
  setsid ip netns exec "$ns" unshare --uts sh -c "hostname $ns && exec /usr/sbin/sshd -D -f $hdir/sshd_config" \
    >"$hdir/sshd.log" 2>&1 </dev/null &
  local tries=50
  until [[ -f "$hdir/sshd.pid" ]] && kill -0 "$(cat "$hdir/sshd.pid")" 2>/dev/null; do
    tries=$((tries - 1))
    ((tries > 0)) || { log "sshd of $ns did not start: $(cat "$hdir/sshd.log")"; exit 1; }
    sleep 0.1
  done
}

up_host() {
  local i="$1" ns address
  ns="$(host_name "$i")"
  address="$(host_address "$i")"
  if ! ip netns list | grep -qx "$ns\( .*\)\?"; then
    ip netns add "$ns"
    ip link add "$ns" type veth peer name eth0 netns "$ns"
    ip link set "$ns" master "$bridge" up
    ip -n "$ns" addr add "$address/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    log "created host $ns at $address"
  fi
  start_sshd "$i"
  echo "$ns $address"
}

stop_sshd() {
  local hdir
  hdir="$dir/$(host_name "$1")"
  if [[ -f "$hdir/sshd.pid" ]]; then
    kill "$(cat "$hdir/sshd.pid")" 2>/dev/null || true
    rm -f "$hdir/sshd.pid"
    log "stopped sshd of $(host_name "$1")"
  fi
}

down() {
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^${prefix}-h[0-9]*$" || true); do
    stop_sshd "${ns##*-h}"
    ip link del "$ns" 2>/dev/null || true
    ip netns del "$ns"
    log "removed host $ns"
  done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$dir"
}

case "${1:-}" in
  up)
    [[ "${2:-}" =~ ^[0-9]+$ ]] || { log "usage: $0 up N"; exit 2; }
    ensure_bridge
    ensure_key
    for ((i = 1; i <= $2; i++)); do up_host "$i"; done
    ;;
  stop) stop_sshd "$2" ;;
  start) start_sshd "$2" ;;
  down) down ;;
  key) echo "$dir/id_ed25519" ;;
  *) log "usage: $0 up N | stop I | start I | down | key"; exit 2 ;;
esac
