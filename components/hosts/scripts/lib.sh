#!/usr/bin/env bash
# Helpers shared by the host step scripts: components/hosts/scripts.ts sends each step as
# "settings + lib.sh + step script" on the SSH command's stdin.
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

# apt_install PKG...: installs missing packages only.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "${pkg%%=*}" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    check_only || changed "installed ${missing[*]}"
  fi
}
