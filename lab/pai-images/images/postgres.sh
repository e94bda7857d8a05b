#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# The PostgreSQL image the manifests run (docker.io/library/postgres:16.6): Debian 12's
# PostgreSQL 15 (Debian has no 16) with an entrypoint keeping the official image's contract
# (files/postgres/docker-entrypoint.sh). OpenPAI v1.8 itself ran openpai/postgresql = postgres:12.0
# plus an empty once_init_table.sql.

pai_image_postgres() {
  local ref=docker.io/library/postgres:16.6 tree key work root major=15
  tree="$(pai_tree postgres)"
  key="$(oci_key "tree $(basename "$tree")" "${BASH_SOURCE[0]}" "$pai_images_dir/files/postgres" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work postgres)"
  root="$work/rootfs"
  cp -a "$tree" "$root"
  # The official image's postgres user is uid/gid 999 (volumes made for it keep working); Debian's
  # package picked a free system id. The cluster Debian's package made is not the image's: it
  # initialises PGDATA on first start instead.
  local old_uid old_gid
  old_uid="$(awk -F: '$1 == "postgres" {print $3}' "$root/etc/passwd")"
  old_gid="$(awk -F: '$1 == "postgres" {print $3}' "$root/etc/group")"
  sed -i "s/^postgres:x:$old_uid:$old_gid:/postgres:x:999:999:/" "$root/etc/passwd"
  sed -i "s/^postgres:x:$old_gid:/postgres:x:999:/" "$root/etc/group"
  find "$root" -xdev \( -uid "$old_uid" -o -gid "$old_gid" \) -exec chown -h 999:999 {} +
  rm -rf "$root/var/lib/postgresql/$major/main" "$root/etc/postgresql/$major/main"
  mkdir -p "$root/var/lib/postgresql/data" "$root/docker-entrypoint-initdb.d"
  chown 999:999 "$root/var/lib/postgresql/data"
  chmod 1777 "$root/var/lib/postgresql/data"
  # /run is left out of tree layers; the socket directory must exist for a non-root start.
  mkdir -p "$work/run-layer/run/postgresql"
  chown 999:999 "$work/run-layer/run/postgresql"
  chmod 3775 "$work/run-layer/run/postgresql"
  oci_begin "$ref" "$key"
  oci_add_tree "$root"
  oci_add_dir "$work/run-layer"
  pai_add_files /usr/local/bin postgres/docker-entrypoint.sh
  oci_env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/$major/bin" \
    "PG_MAJOR=$major" PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
  oci_config --config.volume /var/lib/postgresql/data --config.exposedports 5432/tcp --config.stopsignal SIGINT
  oci_entrypoint docker-entrypoint.sh
  oci_cmd postgres
  oci_commit >/dev/null
  rm -rf "$work"
}
