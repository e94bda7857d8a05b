#!/usr/bin/env bash
# Backup of the master (`openpai backup`, cli/backup.ts): writes one gzipped tar to file
# descriptor 3 (the SSH session's stdout, encrypted by the CLI as it arrives); what it does goes to
# stderr. The tar holds what a rebuilt master at the same address needs (restore.sh):
#   manifest          node name, address, Kubernetes version, date, what is in it
#   pki/              the cluster's CAs and service-account keys (kubeadm makes every other
#                     certificate from them again), so the workers' kubelets keep trusting it
#   etcd/snapshot.db  an etcd snapshot (etcdctl in kubeadm's etcd container)
#   database/openpai.sql  OpenPAI's database (pg_dump in the postgresql container), when PAI runs
# Nothing is left on the master: the snapshot and dump are taken into a root-only directory that
# is removed on exit.
set -euo pipefail
: "${EXPECTED_HOSTNAME:?}" "${MASTER_IP:?}" "${PAI_NAMESPACE:?}"
# fd 3 is the archive; everything the helpers print goes to stderr.
exec 3>&1 1>&2

# cri CRICTL-ARGS...: crictl on containerd's socket, without its warning that /etc/crictl.yaml
# is missing (the endpoint is given).
cri() {
  crictl --runtime-endpoint unix:///run/containerd/containerd.sock "$@" 2> >(grep -v 'crictl.yaml' >&2)
}
# The CA files kubeadm init reads instead of making new ones (kubeadm's "certs" phase).
ca_files=(ca.crt ca.key sa.key sa.pub front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key)

# running_container NAME NAMESPACE: the id of the running container NAME of a pod in NAMESPACE.
running_container() {
  cri ps -q --state running --name "^$1\$" --label "io.kubernetes.pod.namespace=$2" | head -n 1
}

[[ "$(node_name_joined)" == "$EXPECTED_HOSTNAME" ]] \
  || fail "this host is not the control plane node $EXPECTED_HOSTNAME of this stack (/etc/openpai/node-name: '$(node_name_joined)'): is the layout's master the host reached?"
etcd="$(running_container etcd kube-system)"
[[ -n "$etcd" ]] || fail "no running etcd container on $EXPECTED_HOSTNAME: crictl ps -a --name etcd shows why; a backup needs the running control plane"
# Under etcd's own data directory: the etcd container writes there, root-only like its data.
work="$(mktemp -d /var/lib/etcd/openpai-backup.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pki/etcd" "$work/etcd" "$work/database"
for file in "${ca_files[@]}"; do
  [[ -f "/etc/kubernetes/pki/$file" ]] || fail "no /etc/kubernetes/pki/$file: not a kubeadm control plane"
  cp -p "/etc/kubernetes/pki/$file" "$work/pki/$file"
done
log "taking an etcd snapshot in container ${etcd:0:13}"
if ! saved="$(cri exec "$etcd" etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
  --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key \
  snapshot save "$work/etcd/snapshot.db" 2>&1)"; then
  printf '%s\n' "$saved"
  fail "etcdctl snapshot save failed (above)"
fi
contents="pki etcd"
postgres="$(running_container postgresql "$PAI_NAMESPACE")"
if [[ -n "$postgres" ]]; then
  log "dumping OpenPAI's database in container ${postgres:0:13}"
  # The local socket of the server (trusted, as OpenPAI's postgresql runs it); plain SQL, without
  # owners or grants, so it loads into the fresh database of a rebuilt master as its user.
  cri exec "$postgres" pg_dump --username root --dbname openpai --no-owner --no-privileges >"$work/database/openpai.sql" \
    || fail "pg_dump of OpenPAI's database failed (above)"
  contents+=" database"
else
  log "no running postgresql container in namespace $PAI_NAMESPACE: the backup has no database (is PAI deployed?)"
fi
{
  printf 'node=%s\naddress=%s\n' "$EXPECTED_HOSTNAME" "$MASTER_IP"
  printf 'kubernetes=%s\n' "$(kubectl --kubeconfig /etc/kubernetes/admin.conf version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n 1)"
  printf 'created=%s\ncontents=%s\n' "$(date -u +%FT%TZ)" "$contents"
} >"$work/manifest"
tar -C "$work" -czf - manifest pki etcd database >&3
database_bytes=0
[[ -f "$work/database/openpai.sql" ]] && database_bytes="$(stat -c %s "$work/database/openpai.sql")"
changed "backed up $EXPECTED_HOSTNAME: etcd snapshot $(stat -c %s "$work/etcd/snapshot.db") bytes, database dump $database_bytes bytes, the CAs and service-account keys"
