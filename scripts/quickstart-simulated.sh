#!/usr/bin/env bash
# The quick start for machines without root (scripts/quickstart.sh --simulated): builds the
# toolchain if needed, starts the local simulated GPU cluster (kwok: nodes that run nothing), and
# runs `pulumi up` of the `local` stack (existing mode) with a local file backend.
#   npm run quickstart -- --simulated          set up and print the admin user and VC capacity
#   npm run quickstart -- --simulated --down   destroy the stack and stop the cluster
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.pulumi-local"
cd "$root"
log() { printf '[quickstart %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

mkdir -p "$state/backend"
[[ -f "$state/passphrase" ]] || (umask 077 && head -c 24 /dev/urandom | base64 >"$state/passphrase")
if [[ ! -d "${OPENPAI_TOOLCHAIN_CACHE:-$HOME/.cache/openpai-toolchain}" ]] && ! command -v pulumi >/dev/null 2>&1; then
  log "first run: building the Pulumi toolchain (about 35 minutes on 2 cores) and the local cluster's"
  log "Kubernetes binaries (about 30 minutes) from Go modules; progress below, later runs take seconds"
fi
bin="$(bash scripts/toolchain.sh)"
kube_bin="$(bash scripts/kube-binaries.sh)"
# Everything a new shell needs to run the printed commands: `. .pulumi-local/env.sh`.
cat >"$state/env.sh" <<ENV
# Written by npm run quickstart: the local stack's Pulumi settings (source it: . .pulumi-local/env.sh).
export PATH="$bin:$kube_bin:\$PATH"
export PULUMI_BACKEND_URL="file://$state/backend"
export PULUMI_CONFIG_PASSPHRASE_FILE="$state/passphrase"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export KUBECONFIG="$state/cluster/kubeconfig"
ENV
# shellcheck source=/dev/null
. "$state/env.sh"
export OPENPAI_LOCAL_CLUSTER_DIR="$state/cluster"

if [[ "${1:-}" == "--down" ]]; then
  if pulumi stack select local >/dev/null 2>&1; then
    log "destroying the local stack"
    pulumi destroy --yes --skip-preview --non-interactive --stack local
    pulumi stack rm --yes --non-interactive local
  fi
  bash scripts/local-cluster.sh down
  rm -rf "$state" Pulumi.local.yaml
  log "done: the local cluster and its state are gone"
  exit 0
fi

[[ -f Pulumi.local.yaml ]] || cp scripts/quickstart-simulated.stack.yaml Pulumi.local.yaml
log "starting the local simulated GPU cluster"
bash scripts/local-cluster.sh up Pulumi.local.yaml >/dev/null
pulumi stack select --create local --non-interactive >/dev/null
log "pulumi up (stack local)"
pulumi up --yes --skip-preview --non-interactive --stack local
cat <<SUMMARY

OpenPAI is deployed on the local simulated cluster: its objects are accepted by a real
Kubernetes API server, but the nodes are simulated (kwok) and run no containers, so no portal
answers. For a real OpenPAI on this machine run, as root: npm run quickstart
  portal URL:  $(pulumi stack output portalUrl --stack local)  (where pylon would answer: nothing serves it
               on simulated nodes)
  admin user:  $(pulumi stack output adminUser --stack local)
  VC capacity:
$(node bin/openpai.js validate Pulumi.local.yaml | tail -n +2 | sed 's/^/    /')
Commands (each runs as printed, from this directory, in a new shell):
  . .pulumi-local/env.sh && pulumi stack output adminPassword --show-secrets --stack local
  . .pulumi-local/env.sh && pulumi stack output virtualClusters --stack local
  . .pulumi-local/env.sh && kubectl get pods -n default
  npm run quickstart -- --simulated --down
SUMMARY
