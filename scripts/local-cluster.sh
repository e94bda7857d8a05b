#!/usr/bin/env bash
# A local simulated GPU cluster on loopback: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok (fake nodes, pods marked Running), built from Go modules.
#   scripts/local-cluster.sh up <Pulumi.stack.yaml>   one fake node per layout machine
#   scripts/local-cluster.sh down | status | kubeconfig
# State lives in $OPENPAI_LOCAL_CLUSTER_DIR (default ~/.cache/openpai-local-cluster).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${OPENPAI_LOCAL_CLUSTER_DIR:-$HOME/.cache/openpai-local-cluster}"
api_port="${OPENPAI_LOCAL_API_PORT:-16443}"
etcd_port="${OPENPAI_LOCAL_ETCD_PORT:-12379}"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { printf '[local-cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

running() { [[ -f "$dir/pids/$1" ]] && kill -0 "$(cat "$dir/pids/$1")" 2>/dev/null; }

start() {
  local name="$1"
  shift
  if running "$name"; then
    log "$name already running"
    return
  fi
  setsid "$@" >"$dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/pids/$name"
  log "started $name (pid $!)"
}

wait_for() {
  local what="$1" tries=120
  shift
  until "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    ((tries > 0)) || die "$what did not come up: see $dir/logs/"
    sleep 0.5
  done
}

# Runs in a subshell: it works inside the pki directory.
certificates() (
  local pki="$dir/pki"
  [[ -f "$pki/admin.crt" ]] && return
  mkdir -p "$pki" && cd "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=openpai-local-ca" -keyout ca.key -out ca.crt 2>/dev/null
  issue() { # name subject extensions
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out "$1.crt" -extfile <(printf '%s\n' "$3") 2>/dev/null
  }
  issue apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  issue admin "/O=system:masters/CN=openpai-local-admin" "extendedKeyUsage=clientAuth"
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  log "wrote certificates to $pki"
)

write_kubeconfig() {
  local pki="$dir/pki"
  cat >"$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: openpai-local
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 "$pki/admin.crt")
    client-key-data: $(base64 -w0 "$pki/admin.key")
contexts:
- name: openpai-local
  context: {cluster: openpai-local, user: admin}
current-context: openpai-local
KUBECONFIG
  chmod 600 "$dir/kubeconfig"
}

up() {
  local stack_file="${1:-}"
  [[ -n "$stack_file" && -f "$stack_file" ]] || die "usage: $0 up <Pulumi.stack.yaml> (its layout gives the nodes)"
  local bin pki="$dir/pki" kubectl
  bin="$(bash "$here/kube-binaries.sh")"
  kubectl="$bin/kubectl"
  mkdir -p "$dir/pids" "$dir/logs" "$dir/etcd"
  certificates
  write_kubeconfig
  start etcd "$bin/etcd" --name local --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
    --initial-cluster "local=http://127.0.0.1:$((etcd_port + 1))" --log-level warn
  start kube-apiserver "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" --service-cluster-ip-range 10.96.0.0/16 \
    --authorization-mode RBAC --allow-privileged=true --enable-priority-and-fairness=false
  wait_for "kube-apiserver" "$kubectl" --kubeconfig "$dir/kubeconfig" get --raw /readyz
  # kwok's heartbeats lag when the machine is busy; with the default grace period the node
  # controller then marks nodes NotReady and their pods NotReady for good (kwok readies only
  # Pending pods), which leaves Pulumi waiting for rollouts.
  start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$dir/kubeconfig" \
    --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 --controllers '*,-nodeipam' \
    --node-monitor-grace-period=1h --node-startup-grace-period=1h
  start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$dir/kubeconfig" --leader-elect=false \
    --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" --bind-address 127.0.0.1 --secure-port 0
  start kwok "$bin/kwok" --kubeconfig "$dir/kubeconfig" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake --cidr 10.244.0.0/16 \
    --config "$(find "$bin/../kwok-stages" -name '*.yaml' | paste -sd, -)"
  node "$here/../bin/openpai.js" nodes "$stack_file" | "$kubectl" --kubeconfig "$dir/kubeconfig" apply -f - >&2
  wait_for "default service account" "$kubectl" --kubeconfig "$dir/kubeconfig" get serviceaccount default
  wait_for "Ready nodes" bash -c "! '$kubectl' --kubeconfig '$dir/kubeconfig' get nodes --no-headers | grep -v ' Ready '"
  log "cluster ready: $("$kubectl" --kubeconfig "$dir/kubeconfig" get nodes --no-headers | wc -l) nodes"
  echo "$dir/kubeconfig"
}

down() {
  for name in "${components[@]}"; do
    if running "$name"; then
      kill "$(cat "$dir/pids/$name")" 2>/dev/null || true
      log "stopped $name"
    fi
  done
  sleep 1
  for name in "${components[@]}"; do
    if running "$name"; then
      kill -9 "$(cat "$dir/pids/$name")" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
  log "removed $dir"
}

status() {
  local all=0
  for name in "${components[@]}"; do
    if running "$name"; then
      echo "$name: running (pid $(cat "$dir/pids/$name"))"
    else
      echo "$name: stopped"
      all=1
    fi
  done
  return "$all"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  kubeconfig) echo "$dir/kubeconfig" ;;
  *) die "usage: $0 up <Pulumi.stack.yaml> | down | status | kubeconfig" ;;
esac
