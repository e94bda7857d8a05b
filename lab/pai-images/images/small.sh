#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# Small images made of a few Debian packages (oci_add_packages from the small family tree):
# log-manager-cleaner, internal-storage-create, and Debian's Prometheus, Alertmanager and node
# exporter standing in for the prom/* images the manifests name.

# src/log-manager/build/log-manager-cleaner.k8s.dockerfile: alpine 3.10 + tini bash findutils,
# src/cleaner/ -> /usr/bin/cleaner/, ENTRYPOINT ["/sbin/tini","--","/usr/bin/cleaner/entrypoint.sh"].
# entrypoint.sh writes /etc/periodic/{daily,weekly} jobs and runs busybox `crond -f -l 0`: Debian's
# busybox-static has alpine's crond; alpine's root crontab is /etc/crontabs/root, Debian's busybox
# reads /var/spool/cron/crontabs: the file is there, linked from alpine's path.
pai_image_log_manager_cleaner() {
  local ref source_key tree key work period
  ref="$(pai_ref log-manager-cleaner)"
  source_key="$(upstream_key pai)" || return 2
  tree="$(pai_tree small)"
  key="$(oci_key "$source_key" "tree $(basename "$tree")" "${BASH_SOURCE[0]}" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work log-manager-cleaner)"
  upstream_copy pai "$work/pai"
  mkdir -p "$work/image/usr/bin/cleaner" "$work/image/var/spool/cron/crontabs"
  cp -a "$work/pai/src/log-manager/src/cleaner/." "$work/image/usr/bin/cleaner/"
  for period in 15min hourly daily weekly monthly; do mkdir -p "$work/image/etc/periodic/$period"; done
  printf '%s\n' '# min hour day month weekday command (alpine 3.10 root crontab)' \
    '*/15 * * * * run-parts /etc/periodic/15min' '0 * * * * run-parts /etc/periodic/hourly' \
    '0 2 * * * run-parts /etc/periodic/daily' '0 3 * * 6 run-parts /etc/periodic/weekly' \
    '0 5 1 * * run-parts /etc/periodic/monthly' >"$work/image/var/spool/cron/crontabs/root"
  ln -s ../var/spool/cron/crontabs "$work/image/etc/crontabs"
  chown -R 0:0 "$work/image"
  oci_begin "$ref" "$key"
  oci_add_packages "$tree" bash coreutils findutils procps tini busybox-static
  pai_add_accounts
  pai_links_layer /usr/sbin/tini=/usr/bin/tini /usr/sbin/crond=/usr/bin/busybox /usr/bin/sh=bash
  oci_add_dir "$work/image"
  oci_env "$pai_default_path"
  oci_entrypoint /sbin/tini -- /usr/bin/cleaner/entrypoint.sh
  oci_commit >/dev/null
  rm -rf "$work"
}

# src/internal-storage/build/internal-storage-create.k8s.dockerfile: ubuntu:16.04,
# src/create.sh -> /init_scripts/, ENTRYPOINT /bin/bash /init_scripts/create.sh (shell form).
# create.sh needs fallocate, mkfs (ext4), mount -o loop, umount, ls, touch, sleep.
pai_image_internal_storage_create() {
  local ref source_key tree key work
  ref="$(pai_ref internal-storage-create)"
  source_key="$(upstream_key pai)" || return 2
  tree="$(pai_tree small)"
  key="$(oci_key "$source_key" "tree $(basename "$tree")" "${BASH_SOURCE[0]}" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work internal-storage-create)"
  upstream_copy pai "$work/pai"
  mkdir -p "$work/image/init_scripts"
  cp -a "$work/pai/src/internal-storage/src/create.sh" "$work/image/init_scripts/"
  chown -R 0:0 "$work/image"
  oci_begin "$ref" "$key"
  oci_add_packages "$tree" bash coreutils util-linux mount e2fsprogs
  pai_add_accounts
  pai_links_layer /usr/bin/sh=bash
  oci_add_dir "$work/image"
  oci_env "$pai_default_path"
  oci_entrypoint /bin/sh -c "/bin/bash /init_scripts/create.sh"
  oci_commit >/dev/null
  rm -rf "$work"
}

# pai_prom_image REF KEY PACKAGE DATA_DIR [LINK=TARGET...]: a prom/* stand-in: PACKAGE's files,
# links giving the upstream names, DATA_DIR (if any) owned by nobody as workdir and volume, user
# nobody; the caller sets entrypoint and cmd, and commits.
pai_prom_image() {
  local ref="$1" key="$2" package="$3" tree links=() data_dir="$4"
  shift 4
  tree="$(pai_tree small)"
  links=("$@")
  oci_begin "$ref" "$key"
  oci_add_packages "$tree" "$package"
  pai_add_accounts
  pai_add_ca_bundle "$tree"
  ((${#links[@]} == 0)) || pai_links_layer "${links[@]}"
  if [[ -n "$data_dir" ]]; then
    local staging
    staging="$(oci_staging_dir)"
    mkdir -p "$staging$data_dir"
    chown 65534:65534 "$staging$data_dir"
    oci_tar_dir "$staging" | oci_add_layer_tar "add $data_dir"
    rm -rf "$staging"
    oci_workdir "$data_dir"
    oci_config --config.volume "$data_dir"
  fi
  oci_env "$pai_default_path"
  oci_user nobody
}

# prom/prometheus (v3.1.0 in the manifests): /bin/prometheus, /bin/promtool,
# /etc/prometheus/prometheus.yml, WORKDIR+VOLUME /prometheus, USER nobody.
pai_image_prometheus() {
  local ref=docker.io/prom/prometheus:v3.1.0 tree key
  tree="$(pai_tree small)"
  key="$(oci_key "tree $(basename "$tree")" "${BASH_SOURCE[0]}" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  pai_prom_image "$ref" "$key" prometheus /prometheus
  oci_config --config.exposedports 9090/tcp
  oci_entrypoint /bin/prometheus
  oci_cmd --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus
  oci_commit >/dev/null
}

# prom/alertmanager (v0.26.0 in the manifests: the last release with the v1 API rest-server calls): /bin/alertmanager, /bin/amtool,
# /etc/alertmanager/alertmanager.yml, WORKDIR+VOLUME /alertmanager, USER nobody. Debian names the
# binaries prometheus-alertmanager and keeps the config in /etc/prometheus.
pai_image_alertmanager() {
  local ref=docker.io/prom/alertmanager:v0.26.0 tree key
  tree="$(pai_tree small)"
  key="$(oci_key "tree $(basename "$tree")" "${BASH_SOURCE[0]}" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  pai_prom_image "$ref" "$key" prometheus-alertmanager /alertmanager \
    /usr/bin/alertmanager=prometheus-alertmanager /etc/alertmanager/alertmanager.yml=/etc/prometheus/alertmanager.yml
  oci_config --config.exposedports 9093/tcp
  oci_entrypoint /bin/alertmanager
  oci_cmd --config.file=/etc/alertmanager/alertmanager.yml --storage.path=/alertmanager
  oci_commit >/dev/null
}

# prom/node-exporter (v1.8.2 in the manifests): /bin/node_exporter, USER nobody, port 9100.
pai_image_node_exporter() {
  local ref=docker.io/prom/node-exporter:v1.8.2 tree key
  tree="$(pai_tree small)"
  key="$(oci_key "tree $(basename "$tree")" "${BASH_SOURCE[0]}" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  pai_prom_image "$ref" "$key" prometheus-node-exporter "" /usr/bin/node_exporter=prometheus-node-exporter
  oci_config --config.exposedports 9100/tcp
  oci_entrypoint /bin/node_exporter
  oci_commit >/dev/null
}
