#!/usr/bin/env bash
# Proves publish.sh: a throwaway registry (Debian's docker-registry, distribution 2.8) on
# 127.0.0.1:<free port> with its storage in a temporary folder; publish.sh pushes the built
# images into it (twice: the second run must push nothing); skopeo inspects each image through
# it. The registry is stopped and its folder deleted at the end, whatever happens.
set -euo pipefail

# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/oci.sh
source "$lab_dir/lib/oci.sh"
# shellcheck source=versions
source "$lab_dir/pai-images/versions"
# shellcheck source=lib/common.sh
source "$lab_dir/pai-images/lib/common.sh"

command -v docker-registry >/dev/null || lab_die "docker-registry is missing: apt-get install docker-registry"
[[ -s "$pai_images_refs_file" ]] || lab_die "no PAI images built yet: run build.sh first"

storage="$(mktemp -d /tmp/pai-images-registry.XXXXXX)"
registry_pid=""
stop_registry() {
  [[ -z "$registry_pid" ]] || { kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; }
  rm -rf "$storage"
  lab_log "stopped the test registry, removed $storage"
}
trap stop_registry EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$storage/config.yml" <<CONFIG
version: 0.1
storage:
  filesystem:
    rootdirectory: $storage/data
http:
  addr: 127.0.0.1:$port
CONFIG
docker-registry serve "$storage/config.yml" >"$storage/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.2; done
curl -fs "http://127.0.0.1:$port/v2/" >/dev/null || { cat "$storage/registry.log" >&2; lab_die "the test registry did not start"; }
lab_log "test registry on 127.0.0.1:$port, storage $storage"

start=$SECONDS
bash "$lab_dir/pai-images/publish.sh" "127.0.0.1:$port"
lab_log "first publish took $((SECONDS - start)) s"
start=$SECONDS
second="$(bash "$lab_dir/pai-images/publish.sh" "127.0.0.1:$port" 2>&1)"
echo "$second" >&2
lab_log "second publish took $((SECONDS - start)) s"

passed=0 failed=0
while IFS=$'\t' read -r ref _; do
  grep -qxF "$ref" "$pai_images_refs_file" || continue
  repo="${ref#*/}"
  if info="$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$port/$repo" 2>&1)"; then
    passed=$((passed + 1))
    python3 -c 'import json, sys; d = json.loads(sys.argv[2]); print("%s: %s, %d layers, %s" % (sys.argv[1], d["Digest"][:19], len(d["Layers"]), d["Architecture"]))' "$repo" "$info"
  else
    failed=$((failed + 1))
    echo "$repo: $info" >&2
  fi
done < <(oci_refs)
if grep -q " 0 pushed" <<<"$second"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "the second publish pushed again" >&2
fi
echo "$passed passed, $failed failed"
((failed == 0))
