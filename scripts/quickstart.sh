#!/usr/bin/env bash
# Quick start without hardware: builds the toolchain if needed, starts the local simulated GPU
# cluster, and runs `pulumi up` of the `local` stack (existing mode) with a local file backend.
#   npm run quickstart            set up and print the portal URL, admin user and VC capacity
#   npm run quickstart -- --down  destroy the stack and stop the cluster
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.pulumi-local"
cd "$root"
log() { printf '[quickstart %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

mkdir -p "$state/backend"
[[ -f "$state/passphrase" ]] || (umask 077 && head -c 24 /dev/urandom | base64 >"$state/passphrase")
export OPENPAI_LOCAL_CLUSTER_DIR="$state/cluster"
export PULUMI_BACKEND_URL="file://$state/backend"
export PULUMI_CONFIG_PASSPHRASE_FILE="$state/passphrase"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
PATH="$(bash scripts/toolchain.sh):$PATH"
export PATH

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

[[ -f Pulumi.local.yaml ]] || cp scripts/quickstart.stack.yaml Pulumi.local.yaml
log "starting the local simulated GPU cluster"
bash scripts/local-cluster.sh up Pulumi.local.yaml >/dev/null
pulumi stack select --create local --non-interactive >/dev/null
log "pulumi up (stack local)"
pulumi up --yes --skip-preview --non-interactive --stack local
cat <<SUMMARY

OpenPAI is deployed on the local simulated cluster (kubeconfig: $OPENPAI_LOCAL_CLUSTER_DIR/kubeconfig).
  portal URL:  $(pulumi stack output portalUrl --stack local)
  admin user:  $(pulumi stack output adminUser --stack local)
  password:    PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE_FILE=$PULUMI_CONFIG_PASSPHRASE_FILE pulumi stack output adminPassword --show-secrets --stack local
  VC capacity (pulumi stack output virtualClusters):
$(node bin/openpai.js validate Pulumi.local.yaml | tail -n +2 | sed 's/^/    /')
Tear down: npm run quickstart -- --down
SUMMARY
