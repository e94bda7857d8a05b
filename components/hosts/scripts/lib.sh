#!/usr/bin/env bash
# Helpers shared by the host step scripts: components/hosts/scripts.ts sends each step as
# "settings + lib.sh + step script" on the SSH command's stdin, run as root through sudo.
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

# containerd_sandbox_image: the pause image kubeadm expects (empty until kubeadm is installed).
containerd_sandbox_image() {
  if command -v kubeadm >/dev/null 2>&1 && [[ -n "${K8S_VERSION:-}" ]]; then
    kubeadm config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null | grep '/pause:' || true
  fi
}

# containerd_config_render FILE SANDBOX: writes containerd's config to FILE: its defaults with the
# systemd cgroup driver (kubelet's), registry mirrors from certs.d, SANDBOX as the pause image
# (when set), oom_score_adj restricted where the host may not lower it (no CAP_SYS_RESOURCE:
# containers such as the local lab), and nvidia as the default runtime once the NVIDIA toolkit is
# installed. Quotes differ between containerd 1.x ("") and 2.x (''): both are matched. Fails (in
# check-only mode: reports and returns 1) when containerd or nvidia-ctk does.
containerd_config_render() {
  local file="$1" sandbox="$2" output cap_bounding
  if ! output="$(containerd config default 2>&1 >"$file")"; then
    fail "containerd config default failed: ${output:-no message}; check the containerd package (containerd --version)"
    return 1
  fi
  if ! grep -q '^version = ' "$file"; then
    fail "containerd config default printed no config (${output:-nothing on stderr}); check the containerd package (containerd --version)"
    return 1
  fi
  sed -i -E -e 's/SystemdCgroup = false/SystemdCgroup = true/' \
    -e "s|config_path = [\"']{2}|config_path = \"/etc/containerd/certs.d\"|" "$file"
  if [[ -n "$sandbox" ]]; then
    sed -i -E -e "s|(sandbox_image = )[\"'][^\"']*[\"']|\\1\"$sandbox\"|" \
      -e "s|^(\s*sandbox = )[\"'][^\"']*[\"']|\\1\"$sandbox\"|" "$file"
  fi
  cap_bounding="$(awk '/^CapBnd:/ {print $2}' /proc/self/status)"
  if (((0x$cap_bounding >> 24 & 1) == 0)); then
    sed -i -E 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$file"
  fi
  if command -v nvidia-ctk >/dev/null 2>&1 \
    && ! output="$(nvidia-ctk runtime configure --runtime=containerd --set-as-default --config="$file" 2>&1)"; then
    fail "nvidia-ctk runtime configure failed, so containerd would run GPU jobs without the NVIDIA runtime: ${output##*$'\n'}"
    return 1
  fi
}

# toml_flatten < TOML: every setting as a "table.key=value" line, quotes dropped:
# [plugins."a.b".c] and [plugins.'a.b'.c], key = "v" and key = 'v' read the same.
toml_flatten() {
  awk '
    /^[[:space:]]*\[/ { table = $0; gsub(/^[[:space:]]*\[+|\]+[[:space:]]*$|["'\'']/, "", table); next }
    /^[[:space:]]*[A-Za-z0-9_-]+[[:space:]]*=/ {
      key = $0; sub(/[[:space:]]*=.*/, "", key); gsub(/[[:space:]]/, "", key)
      value = $0; sub(/^[^=]*=[[:space:]]*/, "", value); gsub(/^["'\'']|["'\'']$/, "", value)
      print (table == "" ? "" : table ".") key "=" value
    }'
}

# toml_setting FLAT KEY: KEY's value in FLAT (toml_flatten's output); empty when unset.
toml_setting() {
  sed -n "s|^${2//./\\.}=||p" <<<"$1" | head -n 1
}

# containerd_config_problems SANDBOX NVIDIA < DUMP: reads `containerd config dump` (containerd
# 1.6/1.7's `version = 2` or 2.x's `version = 3`) and prints, one a line, what the cluster needs
# that it lacks: the systemd cgroup driver for runc and the default runtime, the CRI's registry
# config_path /etc/containerd/certs.d (the mirrors), SANDBOX as the pause image (when not empty),
# nvidia as the default runtime when NVIDIA is 1. Returns 1 when it printed anything.
containerd_config_problems() {
  local sandbox="$1" nvidia="$2" flat version runtime images sandbox_key runtimes default name value problems=()
  flat="$(toml_flatten)"
  version="$(toml_setting "$flat" version)"
  case "$version" in
    2)
      runtime=plugins.io.containerd.grpc.v1.cri.containerd images=plugins.io.containerd.grpc.v1.cri
      sandbox_key="$images.sandbox_image" ;;
    3)
      runtime=plugins.io.containerd.cri.v1.runtime.containerd images=plugins.io.containerd.cri.v1.images
      sandbox_key="$images.pinned_images.sandbox" ;;
    *)
      echo "config version '${version:-none}': neither containerd 1.6/1.7's 2 nor 2.x's 3"
      return 1 ;;
  esac
  default="$(toml_setting "$flat" "$runtime.default_runtime_name")"
  [[ -n "$default" ]] || problems+=("no default runtime ($runtime.default_runtime_name)")
  runtimes=(runc)
  [[ -z "$default" || "$default" == runc ]] || runtimes+=("$default")
  for name in "${runtimes[@]}"; do
    value="$(toml_setting "$flat" "$runtime.runtimes.$name.options.SystemdCgroup")"
    [[ "$value" == true ]] || problems+=("runtime $name does not use the systemd cgroup driver (SystemdCgroup = ${value:-unset}, kubelet's driver is systemd)")
  done
  value="$(toml_setting "$flat" "$images.registry.config_path")"
  [[ "$value" == /etc/containerd/certs.d ]] || problems+=("the CRI's registry config_path is '$value', not /etc/containerd/certs.d (the registry mirrors)")
  value="$(toml_setting "$flat" "$sandbox_key")"
  [[ -z "$sandbox" || "$value" == "$sandbox" ]] || problems+=("the pause image is '$value', not kubeadm's $sandbox ($sandbox_key)")
  if [[ "$nvidia" == 1 ]]; then
    [[ "$default" == nvidia ]] || problems+=("the default runtime is '$default', not nvidia (GPU jobs select GPUs with NVIDIA_VISIBLE_DEVICES)")
    value="$(toml_setting "$flat" "$runtime.runtimes.nvidia.options.BinaryName")"
    [[ "$value" == */nvidia-container-runtime ]] || problems+=("runtime nvidia runs '$value', not nvidia-container-runtime")
  fi
  ((${#problems[@]} == 0)) || { printf '%s\n' "${problems[@]}"; return 1; }
}

# containerd_config_write: renders containerd's config to a temporary file, checks it with the
# installed containerd's own `config dump` (containerd_config_problems), and only then replaces
# /etc/containerd/config.toml. Returns 0 when it wrote (or would write), 1 when the file was
# already right or (check-only) a failure was reported; otherwise a failure fails the step. The
# containerd and nvidia-toolkit steps both write it, so neither drops what the other set.
containerd_config_write() {
  local rendered sandbox nvidia=0 dump problems status=1
  sandbox="$(containerd_sandbox_image)"
  ! command -v nvidia-ctk >/dev/null 2>&1 || nvidia=1
  rendered="$(mktemp)"
  if containerd_config_render "$rendered" "$sandbox"; then
    if ! dump="$(containerd --config "$rendered" config dump 2>&1)"; then
      fail "containerd refuses the config rendered for it: ${dump##*$'\n'}"
    elif ! problems="$(containerd_config_problems "$sandbox" "$nvidia" <<<"$dump")"; then
      fail "the rendered containerd config lacks what the cluster needs (by containerd config dump): ${problems//$'\n'/; }"
    elif write_file /etc/containerd/config.toml 0644 <"$rendered"; then
      status=0
    fi
  fi
  rm -f "$rendered"
  return "$status"
}
