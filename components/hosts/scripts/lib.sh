#!/usr/bin/env bash
# Helpers shared by the host step scripts: components/hosts/scripts.ts sends each step as
# "helpers (this file and lib-containerd.sh) + settings + step script" on the SSH command's stdin,
# run as root through sudo.
# In check-only mode (CHECK_ONLY=1) a step changes nothing: it prints what it would do.

log() { printf '[%s] %s\n' "${STEP:-step}" "$*"; }
changed() { printf '[%s] changed: %s\n' "${STEP:-step}" "$*"; }
check_only() { [[ "${CHECK_ONLY:-0}" == 1 ]]; }

# run CMD...: runs it, or prints it in check-only mode.
run() {
  if check_only; then
    printf '[%s] would run: %s\n' "${STEP:-step}" "$*"
  else
    "$@"
  fi
}

# write_file PATH MODE < CONTENT: replaces PATH only when the content differs.
# Returns 0 when it wrote (or would write), 1 when the file was already right.
write_file() {
  local path="$1" mode="$2" tmp
  tmp="$(mktemp)"
  cat >"$tmp"
  if [[ -f "$path" ]] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 1
  fi
  if check_only; then
    log "would write $path"
  else
    install -D -m "$mode" "$tmp" "$path"
    changed "wrote $path"
  fi
  rm -f "$tmp"
}

# fail MESSAGE: a requirement is not met. Check-only mode reports it and goes on.
fail() {
  if check_only; then
    log "would fail: $*"
  else
    log "error: $*" >&2
    exit 1
  fi
}

# apt-get that waits for another apt/dpkg (cloud-init, unattended-upgrades) instead of failing.
apt_get() {
  run env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@"
}

# dpkg_repair: finishes what an interrupted dpkg left half done (a lost SSH session, a reboot
# during an install), which apt refuses to work on until `dpkg --configure -a` has run; retried
# while another apt or dpkg (cloud-init, unattended-upgrades) holds the lock.
dpkg_repair() {
  local pending try
  pending="$(dpkg --audit 2>/dev/null || true)"
  [[ -n "$pending" ]] || return 0
  log "dpkg was interrupted before and left packages half done: running dpkg --configure -a"
  for try in 1 2 3 4 5 6; do
    if run env DEBIAN_FRONTEND=noninteractive dpkg --configure -a; then
      check_only || changed "dpkg --configure -a finished the interrupted packages"
      return 0
    fi
    log "dpkg --configure -a failed (try $try of 6; another apt may hold the lock)"
    sleep 10
  done
  fail "dpkg --configure -a failed 6 times: run it on this host and see why"
}

# apt_update: refreshes the package lists, once per step run, with retries (mirrors blip); first
# repairs what an interrupted dpkg left.
apt_updated=0
apt_update() {
  ((apt_updated == 0)) || return 0
  dpkg_repair
  local try
  for try in 1 2 3; do
    if apt_get update; then
      apt_updated=1
      return 0
    fi
    log "apt-get update failed (try $try of 3)"
    sleep $((try * 5))
  done
  fail "apt-get update failed 3 times: check the apt sources, cluster.aptProxy and cluster.aptMirror"
}

# apt_install PKG...: installs what is missing or at another version (PKG is NAME or
# NAME=VERSION, VERSION may end in * as apt allows).
apt_install() {
  local missing=() pkg name want state
  for pkg in "$@"; do
    name="${pkg%%=*}"
    want="${pkg#"$name"}"
    want="${want#=}"
    state="$(dpkg-query -W -f='${Status}|${Version}' "$name" 2>/dev/null || true)"
    # shellcheck disable=SC2053 # $want is a pattern (1.34.3-*)
    if [[ "${state%%|*}" != "install ok installed" || ( -n "$want" && "${state#*|}" != $want ) ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]})); then
    apt_update
    apt_get install -y --allow-change-held-packages "${missing[@]}"
    check_only || changed "installed ${missing[*]}"
  fi
}

# hold PKG...: keeps unattended upgrades from replacing these under a running cluster or a loaded
# kernel module (only packages that are installed).
hold() {
  local pkg held=()
  for pkg in "$@"; do
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      && ! apt-mark showhold | grep -qx "$pkg"; then
      held+=("$pkg")
    fi
  done
  if ((${#held[@]})); then
    run apt-mark hold "${held[@]}" >/dev/null
    check_only || changed "held ${held[*]}"
  fi
}

# key_fingerprints FILE: the full fingerprints of the primary keys in FILE (armored or binary), one
# line each; nothing when FILE holds no key.
key_fingerprints() {
  local home
  home="$(mktemp -d)"
  GNUPGHOME="$home" gpg --batch --with-colons --show-keys "$1" 2>/dev/null \
    | awk -F: '$1 == "pub" { primary = 1; next } $1 == "fpr" && primary { print $10; primary = 0 }' || true
  rm -rf "$home"
}

# distribution: "<ID> <VERSION_ID>" of the host's os-release (OS_RELEASE: the unit tests' fake),
# "unknown" when it cannot be read.
distribution() {
  (
    # shellcheck source=/dev/null
    . "${OS_RELEASE:-/etc/os-release}" 2>/dev/null && echo "${ID:-unknown} ${VERSION_ID:-}"
  ) || echo "unknown"
}

# require_plain_url VALUE SETTING: stops the step unless VALUE is a plain http(s) URL. URLs go into
# sources.list lines (fields end at whitespace) and apt's config (strings without escapes): the
# program's validator lets only plain URLs through, and this refuses anything else again.
require_plain_url() {
  [[ "$1" =~ ^https?://[][A-Za-z0-9._~+:/%-]+$ ]] || { log "error: $2 is not a plain URL" >&2; exit 1; }
}

# require_fingerprint VALUE SETTING: stops the step unless VALUE is a full key fingerprint as the
# program passes it (40 capital hex digits).
require_fingerprint() {
  [[ "$1" =~ ^[0-9A-F]{40}$ ]] || { log "error: $2 is not 40 hex digits" >&2; exit 1; }
}

# signing_key URL KEYRING FINGERPRINT SETTING: makes KEYRING hold exactly the key FINGERPRINT,
# fetched from URL when it does not. The key comes through apt's own downloader, the way the
# packages come (apt's proxy settings and the mirror's login, prepare.sh), into a directory apt's
# download user may write; its fingerprint is checked BEFORE it becomes a keyring apt trusts: a
# plain-HTTP mirror or a proxy could hand over any key. A file with another key, or with more keys
# than the one pinned, is refused, naming SETTING (the setting for a mirror that re-signs).
signing_key() {
  local url="$1" keyring="$2" want="$3" setting="$4" download found
  [[ -f "$keyring" && "$(key_fingerprints "$keyring")" == "$want" ]] && return 0
  if check_only; then
    log "would fetch the signing key $url and check its fingerprint is $want"
    return 0
  fi
  download="$(mktemp -d)"
  chown _apt "$download" 2>/dev/null || true
  if ! /usr/lib/apt/apt-helper download-file "$url" "$download/key" >/dev/null; then
    rm -rf "$download"
    fail "could not download the signing key $url (apt's downloader, through cluster.aptProxy when set): check that this host reaches it"
  fi
  found="$(key_fingerprints "$download/key")"
  found="${found//$'\n'/ and }"
  if [[ "$found" != "$want" ]]; then
    rm -rf "$download"
    fail "the signing key at $url has fingerprint ${found:-(no key)}, but $want is pinned: a mirror that signs with its own key needs $setting set to that key's fingerprint; otherwise this is not the repository's key, do not trust it"
  fi
  install -d -m 0755 "$(dirname "$keyring")"
  gpg --batch --yes --dearmor -o "$keyring" "$download/key"
  rm -rf "$download"
  changed "added the signing key $want from $url as $keyring"
}

# kubernetes_apt_source RELEASE: apt's source for pkgs.k8s.io's suite of RELEASE's minor
# (core:/stable:/v1.34/deb/ for v1.34.3; or APT_MIRROR, a mirror of it, cluster.aptMirror), signed
# by pkgs.k8s.io's key (isv:kubernetes), as `gpg --show-keys` prints it for
# https://pkgs.k8s.io/core:/stable:/v1.34/deb/Release.key (also pinned in Azure/aks-flex's
# cloud-init for pkgs.k8s.io), or APT_KEY_FINGERPRINT, a re-signing mirror's key
# (cluster.aptMirrorKeyFingerprint). Each minor is its own suite: a node moved to the next one
# gets its source rewritten.
kubernetes_apt_source() {
  local release="$1" minor keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
  local mirror="${APT_MIRROR:-https://pkgs.k8s.io}" fingerprint="${APT_KEY_FINGERPRINT:-DE15B14486CD377B9E876E1A234654DA9A296436}"
  require_plain_url "$mirror" cluster.aptMirror
  require_fingerprint "$fingerprint" cluster.aptMirrorKeyFingerprint
  minor="${release#v}"
  minor="v${minor%.*}"
  apt_install apt-transport-https ca-certificates curl gpg
  signing_key "$mirror/core:/stable:/$minor/deb/Release.key" "$keyring" "$fingerprint" \
    "openpai:cluster.aptMirrorKeyFingerprint"
  if echo "deb [signed-by=$keyring] $mirror/core:/stable:/$minor/deb/ /" | write_file /etc/apt/sources.list.d/kubernetes.list 0644; then
    # shellcheck disable=SC2034 # read by apt_update: the new source needs a fresh update
    apt_updated=0
  fi
}

# installed_kubernetes_release: the release of the kubelet package installed here (1.34.3, its
# Debian revision dropped); empty when there is none. kube-packages and kube-upgrade both decide
# from it whether this node is at the cluster's release.
installed_kubernetes_release() {
  local installed
  installed="$(dpkg-query -W -f='${Version}' kubelet 2>/dev/null || true)"
  echo "${installed%-*}"
}

# cgroup_v1: whether this host runs cgroup v1 (the unified hierarchy is not mounted on
# /sys/fs/cgroup). kubelet v1.35 refuses to start on it unless its configuration sets
# failCgroupV1: false, and kubeadm's SystemVerification fails on it (kubernetes/enhancements
# KEP 5573); v1.34 only warns.
cgroup_v1() {
  [[ "$(stat -fc %T "${CGROUP_ROOT:-/sys/fs/cgroup}" 2>/dev/null)" != cgroup2fs ]]
}

# cgroup_v1_preflight_skip RELEASE: on a cgroup v1 host, for kubeadm RELEASE v1.35 or later, the
# flag that skips kubeadm's SystemVerification error for cgroup v1 (the kubelet runs there only
# with failCgroupV1: false, which kubeadm-init.sh sets on such a master); nothing otherwise.
cgroup_v1_preflight_skip() {
  local minor="${1#v1.}"
  minor="${minor%%.*}"
  if [[ "$minor" =~ ^[0-9]+$ ]] && ((minor >= 35)) && cgroup_v1; then
    echo "--ignore-preflight-errors=SystemVerification"
  fi
}

# kubernetes_upgrade_check FROM TO: stops unless a cluster at FROM (1.34.3) may move to TO in one
# upgrade: kubeadm upgrades one minor at a time and never down (its version skew policy), so the
# message names each release to set in turn.
kubernetes_upgrade_check() {
  local from="${1#v}" to="${2#v}" from_minor to_minor path="" minor
  from_minor="${from#*.}" to_minor="${to#*.}"
  from_minor="${from_minor%%.*}" to_minor="${to_minor%%.*}"
  if ((to_minor < from_minor)) || { ((to_minor == from_minor)) && [[ "$(printf '%s\n' "$from" "$to" | sort -V | head -n 1)" != "$from" ]]; }; then
    fail "this node runs Kubernetes v$from and openpai:cluster.kubernetesVersion asks for v$to: Kubernetes is never downgraded in place (kubeadm upgrades only forward). Set it back to v$from; going back means a new cluster from a backup taken at v$from (docs/operating.md)"
  fi
  if ((to_minor > from_minor + 1)); then
    for ((minor = from_minor + 1; minor < to_minor; minor++)); do path+="v1.$minor.x, then "; done
    fail "this node runs Kubernetes v$from and openpai:cluster.kubernetesVersion asks for v$to: kubeadm upgrades one minor at a time. Set ${path}v$to, with a pulumi up after each"
  fi
}

# node_ready_at KUBECONFIG NAME VERSION WAIT_SECONDS: waits until node NAME is Ready and its
# kubelet reports VERSION; fails naming what it saw last.
node_ready_at() {
  local kubeconfig="$1" name="$2" version="$3" deadline=$((SECONDS + $4)) seen=""
  while :; do
    seen="$(kubectl --kubeconfig "$kubeconfig" --request-timeout=10s get node "$name" \
      -o jsonpath='{.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)"
    [[ "$seen" == "$version True" ]] && return 0
    ((SECONDS < deadline)) || fail "node $name is not Ready at $version after $4 s (it reports: ${seen:-nothing}): see journalctl -u kubelet on it"
    sleep 5
  done
}

# pci_count VENDOR CLASS...: how many PCI functions of VENDOR (0x10de) have one of the CLASSes
# (0x0300...; the class's first four hex digits), read from sysfs: minimal cloud images have no
# lspci. PCI_DEVICES (default /sys/bus/pci/devices) is the directory read.
pci_count() {
  local vendor="$1" device count=0 class want
  shift
  for device in "${PCI_DEVICES:-/sys/bus/pci/devices}"/*; do
    [[ -r "$device/vendor" && "$(cat "$device/vendor")" == "$vendor" ]] || continue
    class="$(cat "$device/class" 2>/dev/null || true)"
    for want in "$@"; do
      [[ "${class:0:6}" == "$want" ]] && count=$((count + 1))
    done
  done
  echo "$count"
}

# delete_bootstrap_tokens DESCRIPTION...: on the master, deletes the bootstrap tokens whose
# description is one of DESCRIPTIONs; prints how many. Never prints a token.
delete_bootstrap_tokens() {
  local list name description want deleted=0
  list="$(kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.data.description}{"\n"}{end}')" || fail "cannot list the cluster's bootstrap tokens"
  while read -r name description; do
    [[ -n "$name" ]] || continue
    description="$(base64 -d <<<"$description" 2>/dev/null || true)"
    for want in "$@"; do
      if [[ "$description" == "$want" ]]; then
        run kubeadm token delete --kubeconfig /etc/kubernetes/admin.conf "${name#bootstrap-token-}" >/dev/null
        deleted=$((deleted + 1))
      fi
    done
  done <<<"$list"
  echo "$deleted"
}

# node_name_joined: the node name this host's kubelet joined the cluster as (empty if none).
node_name_joined() {
  cat /etc/openpai/node-name 2>/dev/null || true
}

# kubeadm_reset: takes Kubernetes off this host (kubeadm reset, the pod network's configs, the
# node-name marker); the kubeadm-reset and kubeadm-join steps add what is theirs.
kubeadm_reset() {
  run kubeadm reset --force
  # The directory stays: containerd watches it and would miss the next network config.
  if [[ -d /etc/cni/net.d ]]; then
    run find /etc/cni/net.d -mindepth 1 -delete
  fi
  run rm -f /etc/openpai/node-name
}

# record_node_name NAME: writes the marker node_name_joined reads, and checks it is there (a
# marker that silently failed to write would make the next run take a live node for a new host).
record_node_name() {
  printf '%s\n' "$1" | write_file /etc/openpai/node-name 0644 || true
  check_only || [[ "$(node_name_joined)" == "$1" ]] \
    || fail "could not write /etc/openpai/node-name (a full or read-only disk?): fix that, then run pulumi up again"
}

# node_registration KUBECONFIG NAME WAIT_SECONDS: asks the API server KUBECONFIG names whether node
# NAME is registered, retrying while it does not answer (a control plane's static pods start after
# a boot). Prints "registered", "absent" (the API server answered: no such node) or "unreachable".
node_registration() {
  local kubeconfig="$1" name="$2" deadline=$((SECONDS + $3)) answer
  while :; do
    if answer="$(kubectl --kubeconfig "$kubeconfig" --request-timeout=10s get node "$name" -o name 2>&1)"; then
      echo registered
      return
    fi
    if [[ "$answer" == *"(NotFound)"* ]]; then
      echo absent
      return
    fi
    if ((SECONDS >= deadline)); then
      log "the API server did not answer: ${answer##*$'\n'}" >&2
      echo unreachable
      return
    fi
    sleep 5
  done
}

# boot_identity: this boot of this system: the kernel's boot id, and when its init started (a
# container's reboot, as on the lab's hosts, keeps the kernel and so its boot id).
boot_identity() {
  printf '%s/%s\n' "$(cat /proc/sys/kernel/random/boot_id)" "$(sed 's/^.*) //' /proc/1/stat | cut -d' ' -f20)"
}
