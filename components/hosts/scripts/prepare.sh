#!/usr/bin/env bash
# Makes the host ready for package operations: cloud-init done, no apt/dpkg lock held, and the
# lab's apt settings (proxy, hosts reached directly, lock timeout, logins) in place.
set -euo pipefail
APT_PROXY="${APT_PROXY:-}"
APT_DIRECT_HOSTS="${APT_DIRECT_HOSTS:-}"
APT_PROXY_USER="${APT_PROXY_USER:-}"
APT_PROXY_PASSWORD="${APT_PROXY_PASSWORD:-}"
APT_MIRROR="${APT_MIRROR:-}"
APT_MIRROR_USER="${APT_MIRROR_USER:-}"
APT_MIRROR_PASSWORD="${APT_MIRROR_PASSWORD:-}"

# The program's validator lets only plain URLs, host names and logins through; this refuses anything
# else again before it reaches apt's files (in check-only mode too), never printing the value.
# apt's config strings have no escapes: a quote, backslash, ';', brace or newline could end the
# string and add options (an APT::Update::Pre-Invoke hook runs as root); auth.conf's tokens end at
# whitespace and it has no quoting.
refuse() {
  log "error: $1 $2" >&2
  exit 1
}
[[ -z "$APT_PROXY" ]] || require_plain_url "$APT_PROXY" cluster.aptProxy
[[ -z "$APT_MIRROR" ]] || require_plain_url "$APT_MIRROR" cluster.aptMirror
token() { [[ -n "$1" && "$1" != *[[:space:][:cntrl:]]* ]]; }

if command -v cloud-init >/dev/null 2>&1; then
  log "waiting for cloud-init"
  cloud-init status --wait >/dev/null 2>&1 || true
fi
# Held locks mean cloud-init or unattended-upgrades is installing: wait for it (10 minutes).
for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock; do
  tries=120
  while command -v fuser >/dev/null 2>&1 && fuser "$lock" >/dev/null 2>&1; do
    tries=$((tries - 1))
    ((tries > 0)) || fail "$lock is still held after 10 minutes"
    sleep 5
  done
done

settings="// Written by openpai-pulumi (cluster.aptProxy, cluster.aptMirror): do not edit.
DPkg::Lock::Timeout \"600\";"
if [[ -n "$APT_PROXY" ]]; then
  settings+="
Acquire::http::Proxy \"$APT_PROXY\";
Acquire::https::Proxy \"$APT_PROXY\";"
  read -ra direct_hosts <<<"$APT_DIRECT_HOSTS"
  for host in "${direct_hosts[@]}"; do
    [[ "${host%%:*}" =~ ^[A-Za-z0-9.-]+$ ]] || refuse cluster.aptMirror "has a host apt's configuration cannot name"
    settings+="
Acquire::http::Proxy::${host%%:*} \"DIRECT\";
Acquire::https::Proxy::${host%%:*} \"DIRECT\";"
  done
fi
printf '%s\n' "$settings" | write_file /etc/apt/apt.conf.d/90openpai 0644 || true

# Logins in auth.conf.d, readable by root only (apt opens it before it drops privileges). The
# machine token names the scheme: apt sends a login over plain http only when told so.
logins=""
if [[ -n "$APT_MIRROR_USER" ]]; then
  token "$APT_MIRROR_USER" || refuse cluster.aptMirrorUser "has whitespace or control characters"
  token "$APT_MIRROR_PASSWORD" || refuse openpai:aptMirrorPassword "is empty or has whitespace or control characters, which apt's auth.conf cannot hold: choose another password"
  logins+="machine ${APT_MIRROR%/} login $APT_MIRROR_USER password $APT_MIRROR_PASSWORD"$'\n'
fi
if [[ -n "$APT_PROXY_USER" ]]; then
  token "$APT_PROXY_USER" || refuse cluster.aptProxyUser "has whitespace or control characters"
  token "$APT_PROXY_PASSWORD" || refuse openpai:aptProxyPassword "is empty or has whitespace or control characters, which apt's auth.conf cannot hold: choose another password"
  proxy_host="${APT_PROXY#*://}"
  logins+="machine ${APT_PROXY%%://*}://${proxy_host%%/*} login $APT_PROXY_USER password $APT_PROXY_PASSWORD"$'\n'
fi
auth=/etc/apt/auth.conf.d/90openpai.conf
if [[ -n "$logins" ]]; then
  printf '%s' "$logins" | write_file "$auth" 0600 || true
elif [[ -f "$auth" ]]; then
  run rm -f "$auth"
  check_only || changed "removed $auth (no apt logins any more)"
fi
log "ready: boot id $(cat /proc/sys/kernel/random/boot_id), apt proxy ${APT_PROXY:-none}${APT_PROXY_USER:+ (login $APT_PROXY_USER)}${APT_MIRROR_USER:+, mirror login $APT_MIRROR_USER}"
