#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_* and oci_* variables come from lab/lib/common.sh and oci.sh
# Runs a built image's process the way a container runtime would, without one: the image is
# unpacked with umoci, then its entrypoint+cmd, env, workdir and user (from the runtime spec umoci
# writes) run chrooted in new mount, PID and network namespaces (loopback only), with /proc, /dev,
# /dev/shm and /tmp mounted. Everything ends with the namespaces. Source after oci.sh.

# sandbox_unpack REF DIR: unpacks REF's recorded layout into the bundle DIR (rootfs + config.json).
sandbox_unpack() {
  local ref="$1" dir="$2" layout
  layout="$(oci_refs | awk -F'\t' -v ref="$ref" '$1 == ref {print $2}')"
  [[ -n "$layout" ]] || lab_die "no built image $ref: run build.sh first"
  rm -rf "$dir"
  umoci unpack --image "$layout:${ref##*:}" "$dir" >/dev/null
}

# sandbox_process_file BUNDLE: writes BUNDLE/process.sh, shell assignments of the image's
# process: image_args (array), image_env (array), image_cwd, image_uid, image_gid.
sandbox_process_file() {
  python3 - "$1/config.json" >"$1/process.sh" <<'PY'
import json, shlex, sys
process = json.load(open(sys.argv[1]))["process"]
print("image_args=(" + " ".join(shlex.quote(a) for a in process.get("args", [])) + ")")
print("image_env=(" + " ".join(shlex.quote(e) for e in process.get("env", [])) + ")")
print("image_cwd=" + shlex.quote(process.get("cwd", "/")))
print("image_uid=%d" % process.get("user", {}).get("uid", 0))
print("image_gid=%d" % process.get("user", {}).get("gid", 0))
PY
}

# What runs inside the namespaces before the test's script: mounts and helpers.
#   in_image                  the image's process (entrypoint + cmd) as its user, in its workdir
#   in_image_run CMD...       another command, the same way (image env, user, workdir)
#   in_image_as_root CMD...   another command as root
# Extra environment: IMAGE_ENV=(K=V ...) before the call. Images without /bin/sh (FROM scratch)
# run from /.
# shellcheck disable=SC2016 # expanded inside the namespaces
sandbox_prelude='
set -euo pipefail
source "$bundle/process.sh"
rootfs="$bundle/rootfs"
ip link set lo up
mount --make-rprivate /
mkdir -p "$rootfs/proc" "$rootfs/dev" "$rootfs/tmp" "$rootfs/sys"
mount -t proc proc "$rootfs/proc"
mount -t sysfs -o ro sysfs "$rootfs/sys"
mount --rbind /dev "$rootfs/dev"
mkdir -p "$rootfs/dev/shm" && mount -t tmpfs -o mode=1777 shm "$rootfs/dev/shm"
mount -t tmpfs -o mode=1777 tmp "$rootfs/tmp"
mkdir -p "$rootfs/etc" && cp /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
IMAGE_ENV=()
in_image_env() { env -i "${image_env[@]}" "${IMAGE_ENV[@]}" "$@"; }
in_image_chroot() {
  local spec="$1"
  shift
  if [[ -e "$rootfs/bin/sh" ]]; then
    in_image_env chroot --userspec="$spec" "$rootfs" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$image_cwd" "$@"
  else
    in_image_env chroot --userspec="$spec" "$rootfs" "$@"
  fi
}
in_image() { in_image_chroot "$image_uid:$image_gid" "${image_args[@]}"; }
in_image_run() { in_image_chroot "$image_uid:$image_gid" "$@"; }
in_image_as_root() { in_image_chroot 0:0 "$@"; }
'

# sandbox_run BUNDLE TIMEOUT SCRIPT: runs SCRIPT (bash, with the prelude's helpers) in fresh
# namespaces for at most TIMEOUT seconds; its output is the test's evidence.
sandbox_run() {
  local bundle="$1" seconds="$2" script="$3"
  [[ -f "$bundle/process.sh" ]] || sandbox_process_file "$bundle"
  timeout --kill-after=5 "$seconds" unshare --mount --pid --net --uts --ipc --fork --kill-child \
    env bundle="$bundle" bash -c "$sandbox_prelude
$script"
}
