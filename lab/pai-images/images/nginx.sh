#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# nginx images: the nginx the manifests run as pylon (docker.io/library/nginx:1.27.3) and
# OpenPAI's log-manager-nginx (FROM openresty/openresty:1.15.8.3-2-alpine-fat), both on Debian
# 12's nginx 1.22 (its lua module stands in for OpenResty's built-in one).

# pai_nginx_accounts_layer TREE USER:UID: the tree's passwd/group plus USER (uid = gid).
pai_nginx_accounts_layer() {
  local tree="$1" user="${2%%:*}" id="${2##*:}" staging
  staging="$(oci_staging_dir)"
  mkdir -p "$staging/etc"
  cp -a "$tree/etc/passwd" "$tree/etc/group" "$staging/etc/"
  grep -q "^$user:" "$staging/etc/group" || echo "$user:x:$id:" >>"$staging/etc/group"
  grep -q "^$user:" "$staging/etc/passwd" || echo "$user:x:$id:$id:$user user:/nonexistent:/usr/sbin/nologin" >>"$staging/etc/passwd"
  oci_tar_dir "$staging" | oci_add_layer_tar "add user $user"
  rm -rf "$staging"
}

# Official nginx image (Debian-based): /docker-entrypoint.sh running /docker-entrypoint.d/*,
# nginx.conf including conf.d/*.conf, default.conf, logs to stdout/stderr, user nginx (101),
# STOPSIGNAL SIGQUIT, CMD nginx -g "daemon off;".
pai_image_nginx() {
  local ref=docker.io/library/nginx:1.27.3 tree key work version
  tree="$(pai_tree nginx)"
  key="$(oci_key "tree $(basename "$tree")" "${BASH_SOURCE[0]}" "$pai_images_dir/files/nginx" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work nginx)"
  version="$(dpkg-query --admindir="$tree/var/lib/dpkg" -W -f='${Version}' nginx)"
  mkdir -p "$work/image/docker-entrypoint.d" "$work/image/etc/nginx/conf.d" "$work/image/var/log/nginx" \
    "$work/image/var/cache/nginx" "$work/image/run"
  cp "$pai_images_dir/files/nginx/docker-entrypoint.sh" "$work/image/"
  cp "$pai_images_dir/files/nginx/20-envsubst-on-templates.sh" "$work/image/docker-entrypoint.d/"
  cp "$pai_images_dir/files/nginx/nginx.conf" "$work/image/etc/nginx/"
  cp "$pai_images_dir/files/nginx/default.conf" "$work/image/etc/nginx/conf.d/"
  ln -s /dev/stdout "$work/image/var/log/nginx/access.log"
  ln -s /dev/stderr "$work/image/var/log/nginx/error.log"
  chown -R 0:0 "$work/image"
  oci_begin "$ref" "$key"
  oci_add_tree "$tree"
  pai_nginx_accounts_layer "$tree" nginx:101
  oci_add_dir "$work/image"
  oci_env "$pai_default_path" "NGINX_VERSION=$version"
  oci_config --config.exposedports 80/tcp --config.stopsignal SIGQUIT
  oci_entrypoint /docker-entrypoint.sh
  oci_cmd nginx -g "daemon off;"
  oci_commit >/dev/null
  rm -rf "$work"
}

# src/log-manager/build/log-manager-nginx.k8s.dockerfile: FROM openresty alpine-fat, luarocks
# lua-cjson lua-resty-jwt luafilesystem lua-path, nginx.conf.default -> /etc/nginx/conf.d/
# default.conf, nginx.conf -> /usr/local/openresty/nginx/conf/nginx.conf, *.lua -> /etc/nginx/lua/.
# The rocks come from their upstream trees (lua-resty-jwt 0.2.3 with its lua-resty-hmac, and the
# lua-resty-openssl it requires; lua-resty-string, bundled with OpenResty), lua-cjson and lfs from
# Debian; all on the default Lua path (/usr/local/share/lua/5.1).
pai_image_log_manager_nginx() {
  local ref source_key tree key work lua name lib_key lib_keys=()
  ref="$(pai_ref log-manager-nginx)"
  source_key="$(upstream_key pai)" || return 2
  for name in lua-resty-jwt lua-resty-hmac lua-resty-openssl lua-resty-string lua-path; do
    lib_key="$(upstream_key "$name")" || return 2
    lib_keys+=("$lib_key")
  done
  tree="$(pai_tree nginx)"
  key="$(oci_key "$source_key" "${lib_keys[@]}" "tree $(basename "$tree")" "${BASH_SOURCE[0]}" \
    "$pai_images_dir/files/openresty" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work log-manager-nginx)"
  upstream_copy pai "$work/pai"
  lua="$work/image/usr/local/share/lua/5.1"
  mkdir -p "$lua"
  for name in lua-resty-jwt lua-resty-hmac lua-resty-openssl lua-resty-string; do
    cp -a "$(upstream_dir "$name")/lib/." "$lua/"
  done
  cp -a "$(upstream_dir lua-path)/lua/." "$lua/"
  local openresty="$work/image/usr/local/openresty" src="$work/pai/src/log-manager/src/nginx"
  mkdir -p "$openresty/bin" "$openresty/nginx/conf" "$openresty/nginx/logs" "$openresty/nginx/sbin" \
    "$work/image/etc/nginx/conf.d" "$work/image/etc/nginx/lua" "$work/image/run/openresty"
  cp "$pai_images_dir/files/openresty/openresty" "$openresty/bin/"
  ln -s ../../bin/openresty "$openresty/nginx/sbin/nginx"
  cp "$tree/etc/nginx/mime.types" "$openresty/nginx/conf/"
  ln -s /dev/stderr "$openresty/nginx/logs/error.log"
  ln -s /dev/stdout "$openresty/nginx/logs/access.log"
  # Debian's nginx has /var/log/nginx compiled in as the default logs (OpenResty: its prefix's
  # logs/), used where the config names none; tree layers leave /var/log out.
  mkdir -p "$work/image/var/log/nginx"
  ln -s /dev/stdout "$work/image/var/log/nginx/access.log"
  ln -s /dev/stderr "$work/image/var/log/nginx/error.log"
  cp "$src/nginx.conf.default" "$work/image/etc/nginx/conf.d/default.conf"
  cp "$src/nginx.conf" "$openresty/nginx/conf/nginx.conf"
  cp "$src/"*.lua "$work/image/etc/nginx/lua/"
  chown -R 0:0 "$work/image"
  oci_begin "$ref" "$key"
  oci_add_tree "$tree"
  oci_add_dir "$work/image"
  oci_env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/openresty/nginx/sbin:/usr/local/openresty/bin"
  oci_config --config.stopsignal SIGQUIT
  oci_cmd /usr/local/openresty/bin/openresty -g "daemon off;"
  oci_commit >/dev/null
  rm -rf "$work"
}
