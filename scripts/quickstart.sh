#!/usr/bin/env bash
# Quick start: a real OpenPAI on this machine. The local lab (lab/README.md) boots a master and
# two CPU workers as systemd hosts; one kubeadm-mode stack (scripts/quickstart.stack.yaml, copied
# to Pulumi.quickstart.yaml) provisions them over SSH and deploys OpenPAI with the platform on,
# as "Deploy a cluster" in the README does; kwok adds four simulated 8-GPU nodes.
#   npm run quickstart                       (root) set up, then print the portal and what to run
#   npm run quickstart -- --down             remove everything the quick start made
#   npm run quickstart -- --simulated [--down]   without root: simulated nodes only, nothing runs
# Cold, the builds take long (each prints "step n of m"); later runs reuse their caches.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ "${1:-}" == "--simulated" ]]; then
  shift
  exec bash scripts/quickstart-simulated.sh "$@"
fi

state="$root/.pulumi-quickstart"
stack=quickstart
stack_file="Pulumi.$stack.yaml"
lab=(bash "$root/lab/lab.sh")
log() { printf '[quickstart %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
timings=()
stage_started=$SECONDS
# stage_done NAME: records how long the stage that just ended took.
stage_done() {
  timings+=("$(printf '  %-34s %4d s' "$1" "$((SECONDS - stage_started))")")
  stage_started=$SECONDS
}

if ((EUID != 0)); then
  echo "npm run quickstart runs the local lab, which changes this machine's network, mounts and cgroups: run it as root," >&2
  echo "or, without root, 'npm run quickstart -- --simulated' (simulated nodes only: the portal does not answer)." >&2
  exit 1
fi

kwok_stop() {
  if [[ -f "$state/kwok.pid" ]] && kill -0 "$(cat "$state/kwok.pid")" 2>/dev/null; then
    kill "$(cat "$state/kwok.pid")"
    log "stopped kwok (the simulated GPU nodes)"
  fi
  rm -f "$state/kwok.pid"
}

if [[ "${1:-}" == "--down" ]]; then
  kwok_stop
  "${lab[@]}" down
  # The hosts are gone with the lab: the stack's state is dropped rather than destroyed host by host.
  if [[ -f "$state/env.sh" ]]; then
    # shellcheck source=/dev/null
    . "$state/env.sh"
    pulumi stack rm --yes --force --non-interactive "$stack" >/dev/null 2>&1 && log "removed the stack $stack"
  fi
  rm -rf "$state" "$stack_file"
  log "done: the lab, its hosts, the stack and its state are gone (the build caches stay)"
  exit 0
fi

# The builds, all three side by side (each caches its work; warm, they only check their caches):
# the Pulumi toolchain and the Kubernetes binaries (Go), and what the lab serves (host rootfs,
# Kubernetes images and packages, PAI stand-in images), whose Kubernetes step waits for the
# binaries by their lock while its other steps go on.
mkdir -p "$state/logs"
log "step 1 of 3: the Pulumi toolchain (cold: about 40 minutes on 2 cores, side by side with steps 2 and 3; cached: seconds; log: $state/logs/toolchain.log)"
bash scripts/toolchain.sh >"$state/logs/toolchain.out" 2>"$state/logs/toolchain.log" &
toolchain_pid=$!
log "step 2 of 3: the Kubernetes binaries (cold: about 30 minutes; log: $state/logs/kube-binaries.log)"
bash scripts/kube-binaries.sh >"$state/logs/kube-binaries.out" 2>"$state/logs/kube-binaries.log" &
kube_pid=$!
log "step 3 of 3: the lab's host image, Kubernetes images and packages, PAI images (cold: about 60 minutes with the others; log: $state/logs/lab-build.log)"
"${lab[@]}" build 2>"$state/logs/lab-build.log" &
lab_pid=$!
# build_wait PID N NAME LOG: waits for step N and reports it, or shows the end of its log.
build_wait() {
  if wait "$1"; then
    log "step $2 of 3 ($3) done (elapsed $((SECONDS - stage_started)) s)"
  else
    tail -n 20 "$4" >&2
    log "step $2 of 3 ($3) failed (log: $4)"
    exit 1
  fi
}
build_wait "$toolchain_pid" 1 "Pulumi toolchain" "$state/logs/toolchain.log"
build_wait "$kube_pid" 2 "Kubernetes binaries" "$state/logs/kube-binaries.log"
build_wait "$lab_pid" 3 "lab build" "$state/logs/lab-build.log"
bin="$(tail -n 1 "$state/logs/toolchain.out")"
kube_bin="$(tail -n 1 "$state/logs/kube-binaries.out")"
stage_done "builds (cached when warm)"

# Everything a new shell needs to run the printed commands: `. .pulumi-quickstart/env.sh`.
[[ -f "$state/passphrase" ]] || (umask 077 && head -c 24 /dev/urandom | base64 >"$state/passphrase")
mkdir -p "$state/backend"
(umask 077 && mkdir -p "$state/tmp")
cat >"$state/env.sh" <<ENV
# Written by npm run quickstart: the quick start stack's settings (source it: . .pulumi-quickstart/env.sh).
export PATH="$bin:$kube_bin:$root/node_modules/.bin:\$PATH"
export PULUMI_BACKEND_URL="file://$state/backend"
# pulumi-kubernetes writes the provider's kubeconfig (the admin's key) to \$TMPDIR/kubeconfig*
# and never removes it: here, a private folder that --down removes.
export TMPDIR="$state/tmp"
export PULUMI_CONFIG_PASSPHRASE_FILE="$state/passphrase"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export KUBECONFIG="$state/kubeconfig"
export PORTAL=https://10.78.0.10
# curl trusts the portal's certificate through the CA the stack made for it.
export CURL_CA_BUNDLE="$state/openpai-ca.crt"
# pai_token: a token of the admin; pai_submit FILE: submits a job (OpenPAI protocol YAML); pai_job NAME: its status.
pai_token() {
  curl -fsS -H 'Content-Type: application/json' "\$PORTAL/rest-server/api/v1/authn/basic/login" \\
    -d "{\"username\":\"admin\",\"password\":\"\$(pulumi stack output adminPassword --show-secrets --stack $stack)\",\"expiration\":3600}" |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
pai_submit() { curl -fsS -H "Authorization: Bearer \$(pai_token)" -H 'Content-Type: text/yaml' --data-binary "@\$1" "\$PORTAL/rest-server/api/v2/jobs"; echo; }
pai_job() { curl -fsS -H "Authorization: Bearer \$(pai_token)" "\$PORTAL/rest-server/api/v2/jobs/admin~\$1" | grep -o '"state":"[A-Z]*"' | head -n 1; }
ENV
# shellcheck source=/dev/null
. "$state/env.sh"

log "the lab: registry, apt repository, apt proxy, DNS; hosts pai-master, pai-worker-1, pai-worker-2"
"${lab[@]}" up
for host in "pai-master 10.78.0.10" "pai-worker-1 10.78.0.11" "pai-worker-2 10.78.0.12"; do
  # shellcheck disable=SC2086 # name and address
  "${lab[@]}" host start $host >/dev/null &
done
wait
stage_done "lab and hosts up"

[[ -f "$stack_file" ]] || cp scripts/quickstart.stack.yaml "$stack_file"
pulumi stack select --create "$stack" --non-interactive >/dev/null
# The lab's apt repository re-signs the Kubernetes packages with its own test key, made once per
# machine: the stack pins that key (the template cannot name it).
pulumi config set --path openpai:cluster.aptMirrorKeyFingerprint --stack "$stack" \
  "$("${lab[@]}" env | sed -n 's/^LAB_APT_KEY_FINGERPRINT=//p')"
pulumi config get openpai:sshPrivateKey --stack "$stack" >/dev/null 2>&1 \
  || pulumi config set --secret openpai:sshPrivateKey --stack "$stack" <"$("${lab[@]}" key)"
log "pulumi up (stack $stack): hosts, Kubernetes, OpenPAI"
pulumi up --yes --skip-preview --non-interactive --stack "$stack"
stage_done "pulumi up"

(umask 077 && pulumi stack output kubeconfig --show-secrets --stack "$stack" >"$KUBECONFIG")
pulumi stack output portalCaCertificate --stack "$stack" >"$CURL_CA_BUNDLE"
# The simulated GPU nodes: kwok marks them Ready and their pods Running; the stack leaves them to
# it (provision: false), so HiveD finds them once they are registered.
if ! { [[ -f "$state/kwok.pid" ]] && kill -0 "$(cat "$state/kwok.pid")" 2>/dev/null; }; then
  stages="$(find "$kube_bin/../kwok-stages" -type f | sort | paste -sd, -)"
  setsid "$kube_bin/kwok" --kubeconfig "$KUBECONFIG" --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.250.0.0/16 --config "$stages" --node-lease-duration-seconds 40 </dev/null >"$state/logs/kwok.log" 2>&1 &
  echo $! >"$state/kwok.pid"
  log "started kwok (pid $(cat "$state/kwok.pid"), log $state/logs/kwok.log)"
fi
node bin/openpai.js nodes --unprovisioned "$stack_file" | kubectl apply -f - >/dev/null
kubectl wait --for=condition=Ready node -l type=kwok --timeout=120s >/dev/null
stage_done "simulated GPU nodes"

for _ in $(seq 60); do
  curl -fsS -o /dev/null "$PORTAL/rest-server/api/v2/info" && curl -fsS -o /dev/null "$PORTAL/" && break
  sleep 5
done
curl -fsS -o /dev/null "$PORTAL/" || { log "the portal $PORTAL does not answer: kubectl get pods -A shows what is not running"; exit 1; }
stage_done "portal answers"

cat <<SUMMARY

OpenPAI runs on this machine: three real hosts of the local lab (pai-master, pai-worker-1,
pai-worker-2) provisioned by one kubeadm stack ($stack_file, from scripts/quickstart.stack.yaml),
and four simulated 8-GPU nodes (gpu-0 to gpu-3) for HiveD to schedule GPU jobs onto.
  portal:      $(pulumi stack output portalUrl --stack "$stack")  (log in as the admin; trust the CA in .pulumi-quickstart/openpai-ca.crt)
  admin user:  $(pulumi stack output adminUser --stack "$stack")
  VC capacity:
$(node bin/openpai.js validate "$stack_file" | tail -n +2 | sed 's/^/    /')
Stages:
$(printf '%s\n' "${timings[@]}")
Commands (each runs as printed, from this directory, in a new shell):
  . .pulumi-quickstart/env.sh && pulumi stack output adminPassword --show-secrets --stack $stack
  . .pulumi-quickstart/env.sh && pai_submit examples/jobs/hello-cpu.yaml
  . .pulumi-quickstart/env.sh && pai_job hello-cpu
  . .pulumi-quickstart/env.sh && pai_submit examples/jobs/gpu-vc1.yaml
  . .pulumi-quickstart/env.sh && kubectl get nodes
  npm run quickstart -- --down
SUMMARY
