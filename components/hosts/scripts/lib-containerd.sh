#!/usr/bin/env bash
# Helpers for containerd's configuration, shared by the containerd and nvidia-toolkit steps: sent
# with lib.sh as one helpers file (components/hosts/scripts.ts helperSources), whose log, fail and
# run they use.

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
