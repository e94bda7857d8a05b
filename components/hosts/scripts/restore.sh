#!/usr/bin/env bash
# Stages a backup (backup.sh's gzipped tar, on stdin) on a rebuilt master for its next up
# (`openpai restore`, cli/backup.ts). It only unpacks: the kubeadm-init step restores the CAs and
# the etcd snapshot before it inits (kubeadm-init.sh), and PostgreSQL loads the database dump on
# its first start, from /docker-entrypoint-initdb.d (the restore directory below, mounted there
# by the postgresql DaemonSet). Refused on a host that runs a control plane: a restore is for a
# master rebuilt at the backup's address, before its first up.
set -euo pipefail
: "${EXPECTED_HOSTNAME:?}" "${MASTER_IP:?}" "${POSTGRES_UID:?}"
state="${OPENPAI_STATE_DIR:-/var/lib/openpai}"
restore="$state/restore"

for path in /etc/kubernetes/admin.conf /var/lib/etcd/member; do
  [[ ! -e "$path" ]] || fail "$EXPECTED_HOSTNAME runs a control plane ($path is there): a backup is restored onto a master rebuilt at its address, before its first pulumi up, never over a running one"
done
mkdir -p "$state"
work="$(mktemp -d "$state/restore-incoming.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xzf - --no-same-owner || fail "the backup could not be unpacked (above)"
[[ -f "$work/manifest" && -f "$work/etcd/snapshot.db" && -f "$work/pki/ca.key" ]] \
  || fail "the backup lacks its manifest, etcd snapshot or CAs: not a backup made by openpai backup"
manifest="$work/manifest"
manifest_value() { sed -n "s/^$1=//p" "$manifest"; }
node="$(manifest_value node)" address="$(manifest_value address)"
[[ "$node" == "$EXPECTED_HOSTNAME" && "$address" == "$MASTER_IP" ]] \
  || fail "the backup is of master $node at $address, and the layout's master is $EXPECTED_HOSTNAME at $MASTER_IP: a backup restores a master under its own name and address (its certificates and etcd member carry them)"
rm -rf "$restore"
install -d -m 0700 "$restore"
mv "$work/manifest" "$work/pki" "$work/etcd" "$restore/"
manifest="$restore/manifest"
chmod -R go= "$restore/pki" "$restore/etcd"
if [[ -f "$work/database/openpai.sql" ]]; then
  # PostgreSQL's entrypoint runs the executable scripts of /docker-entrypoint-initdb.d as its
  # postgres user once, on an empty data directory: this one loads the dump, then removes both.
  # The dump is named so the entrypoint does not load it on its own (*.sql) as well.
  install -d -m 0700 -o "$POSTGRES_UID" -g "$POSTGRES_UID" "$restore/database"
  install -m 0600 -o "$POSTGRES_UID" -g "$POSTGRES_UID" "$work/database/openpai.sql" "$restore/database/openpai.dump"
  install -m 0700 -o "$POSTGRES_UID" -g "$POSTGRES_UID" /dev/stdin "$restore/database/restore-openpai.sh" <<'LOADER'
#!/usr/bin/env bash
# Written by openpai restore: loads OpenPAI's database from the backup, then removes the dump.
set -euo pipefail
here="$(dirname "$0")"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --quiet --dbname "$POSTGRES_DB" -f "$here/openpai.dump"
rm -f "$here/openpai.dump" "$0"
echo "openpai restore: OpenPAI's database loaded from the backup"
LOADER
fi
changed "staged the backup of $node taken $(manifest_value created) (Kubernetes $(manifest_value kubernetes); $(manifest_value contents)) in $restore: the next pulumi up restores it"
