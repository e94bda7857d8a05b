#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# Node.js services of OpenPAI: rest-server, database-controller, webportal, alert-handler.
# Upstream builds them FROM node:dubnium / node:carbon (Debian stretch, Node 10 / 8, npm, yarn);
# here: the node family Debian tree + the same Node, npm and yarn (lib/node.sh) + the app, whose
# `yarn install` / build runs on this machine with that Node before it is layered.

# pai_node_gyp_shim DIR: puts a `node-gyp` first on PATH in DIR that runs a current node-gyp with
# this machine's Node. Upstream's Node 8/10 images built addons with npm's node-gyp and Python 2;
# Debian 12 has only Python 3, which old node-gyp cannot run. The addon is still compiled against
# the image's Node headers (npm_config_nodedir), so it loads in the image's Node.
pai_node_gyp_shim() {
  local dir="$1" gyp="$pai_images_cache/node-gyp-$NODE_GYP_VERSION"
  if [[ ! -f "$gyp.done" ]]; then
    rm -rf "$gyp"
    npm install --silent --no-audit --no-fund --prefix "$gyp" "node-gyp@$NODE_GYP_VERSION" >/dev/null \
      || lab_die "npm install node-gyp@$NODE_GYP_VERSION failed"
    touch "$gyp.done"
  fi
  mkdir -p "$dir"
  printf '#!/bin/sh\nexec %s %s "$@"\n' "$(command -v node)" "$gyp/node_modules/node-gyp/bin/node-gyp.js" >"$dir/node-gyp"
  chmod +x "$dir/node-gyp"
}

# pai_version_dir PAI_SRC DEST: OpenPAI's version/ folder (repository root, outside the src/
# archive): PAI.VERSION is the release tag; COMMIT.VERSION what `git rev-parse HEAD` gave.
pai_version_dir() {
  mkdir -p "$2"
  echo "$PAI_IMAGE_TAG" >"$2/PAI.VERSION"
  echo "d60cba45000596841cc7f9cf392122be5ce504bb" >"$2/COMMIT.VERSION"
}

# pai_node_image REF KEY FAMILY-RUNTIME APP-STAGING: the common layers: Debian tree, Node runtime,
# the app (staging holds the image paths), node image env; the caller sets workdir/cmd and commits.
pai_node_image() {
  local ref="$1" key="$2" runtime="$3" staging="$4" node_version
  node_version="$(basename "$runtime" | sed 's/^node-\([^-]*\)-.*/\1/')"
  oci_begin "$ref" "$key"
  oci_add_tree "$(pai_tree node)"
  oci_add_dir "$runtime"
  pai_add_files /usr/local/bin node/docker-entrypoint.sh
  oci_add_dir "$staging"
  oci_env "$pai_default_path" "NODE_VERSION=$node_version" "YARN_VERSION=$(basename "$runtime"/opt/yarn-v* | sed 's/^yarn-v//')"
  oci_entrypoint docker-entrypoint.sh
}

# pai_node_recipe_key NAME RELEASE [KEY...]: sets the caller's ref, runtime and key (it declares
# them local) for OpenPAI's Node service NAME on Node RELEASE (DUBNIUM or CARBON: the versions
# file's NODE_/NPM_/YARN_<RELEASE>_VERSION), KEYs joining the cache key; returns 2 when OpenPAI's
# source is not to be had.
pai_node_recipe_key() {
  local name="$1" release="$2" source_key tree
  shift 2
  local node_version="NODE_${release}_VERSION" npm_version="NPM_${release}_VERSION" yarn_version="YARN_${release}_VERSION"
  ref="$(pai_ref "$name")"
  source_key="$(upstream_key pai)" || return 2
  tree="$(pai_tree node)"
  runtime="$(node_runtime "${!node_version}" "${!npm_version}" "${!yarn_version}")"
  key="$(oci_key "$source_key" "$@" "tree $(basename "$tree")" "$(basename "$runtime")" "$NODE_GYP_VERSION" \
    "${BASH_SOURCE[0]}" "$pai_images_dir/lib/node.sh" "${pai_common_inputs[@]}" "$pai_images_dir/files/node")"
  pai_remember "$ref"
}

# src/rest-server/build: build-pre.sh copies version/ and database-controller/sdk (as
# openpaidbsdk) in; rest-server.common.dockerfile: FROM node:dubnium, WORKDIR /usr/src/app,
# NODE_ENV=production SERVER_PORT=8080, COPY . ., yarn version, yarn install, CMD npm start.
pai_image_rest_server() {
  local ref runtime key work app
  pai_node_recipe_key rest-server DUBNIUM || return
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work rest-server)"
  upstream_copy pai "$work/pai"
  app="$work/image/usr/src/app"
  mkdir -p "$(dirname "$app")"
  cp -a "$work/pai/src/rest-server" "$app"
  pai_version_dir "$work/pai/src/rest-server" "$app/version"
  cp -a "$work/pai/src/database-controller/sdk" "$app/openpaidbsdk"
  rm -rf "$app/build"
  pai_node_gyp_shim "$work/bin"
  local node_extra_path="$work/bin"
  (cd "$app" && NODE_ENV=production node_run "$runtime" \
    yarn --no-git-tag-version --new-version version "$(cat version/PAI.VERSION)" \
    && NODE_ENV=production node_run "$runtime" yarn install) >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log" >&2; return 1; }
  pai_node_image "$ref" "$key" "$runtime" "$work/image"
  oci_env NODE_ENV=production SERVER_PORT=8080
  oci_workdir /usr/src/app
  oci_cmd npm start
  oci_commit >/dev/null
  rm -rf "$work"
}

# src/database-controller/build: build-pre.sh writes version/{PAI,COMMIT}.VERSION;
# database-controller.common.dockerfile: FROM node:carbon, /database-controller/{src,sdk,version},
# WORKDIR src, yarn install (dev dependencies too: no NODE_ENV), npm install json -g, json -I sets
# paiVersion and paiCommitVersion in package.json, CMD sleep infinity.
pai_image_database_controller() {
  local ref runtime key work root
  pai_node_recipe_key database-controller CARBON || return
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work database-controller)"
  upstream_copy pai "$work/pai"
  root="$work/image/database-controller"
  mkdir -p "$root"
  cp -a "$work/pai/src/database-controller/src" "$work/pai/src/database-controller/sdk" "$root/"
  pai_version_dir "$work/pai/src/database-controller" "$root/version"
  pai_node_gyp_shim "$work/bin"
  local node_extra_path="$work/bin"
  # `npm install json -g` lands in the image's /usr/local: install it there (staged).
  mkdir -p "$work/global/usr/local"
  (cd "$root/src" \
    && node_run "$runtime" yarn install \
    && node_run "$runtime" npm install --silent -g --prefix "$work/global/usr/local" json \
    && node_run "$runtime" "$work/global/usr/local/bin/json" -I -f package.json -e "this.paiVersion=\"$(cat ../version/PAI.VERSION)\"" \
    && node_run "$runtime" "$work/global/usr/local/bin/json" -I -f package.json -e "this.paiCommitVersion=\"$(cat ../version/COMMIT.VERSION)\"") \
    >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; return 1; }
  cp -a "$work/global/." "$work/image/"
  pai_node_image "$ref" "$key" "$runtime" "$work/image"
  oci_workdir /database-controller/src
  oci_cmd sleep infinity
  oci_commit >/dev/null
  rm -rf "$work"
}

# src/alert-manager/build/alert-handler.common.dockerfile: FROM node:dubnium, WORKDIR
# /usr/src/app, NODE_ENV=production, COPY src/alert-handler, yarn install, ENTRYPOINT npm start.
pai_image_alert_handler() {
  local ref runtime key work app
  pai_node_recipe_key alert-handler DUBNIUM || return
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work alert-handler)"
  upstream_copy pai "$work/pai"
  app="$work/image/usr/src/app"
  mkdir -p "$(dirname "$app")"
  cp -a "$work/pai/src/alert-manager/src/alert-handler" "$app"
  pai_node_gyp_shim "$work/bin"
  local node_extra_path="$work/bin"
  (cd "$app" && NODE_ENV=production node_run "$runtime" yarn install) >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log" >&2; return 1; }
  pai_node_image "$ref" "$key" "$runtime" "$work/image"
  oci_env NODE_ENV=production
  oci_workdir /usr/src/app
  oci_entrypoint npm start
  oci_commit >/dev/null
  rm -rf "$work"
}

# pai_node_sass_binding RUNTIME VERSION: prints a node-sass VERSION binding.node for RUNTIME's
# Node, built from the npm package's bundled libsass with a current node-gyp (cached). Upstream's
# `yarn install` downloaded a prebuilt binding from GitHub (unreachable here) or built it with
# node-gyp 3.8 and Python 2 (not in Debian 12).
pai_node_sass_binding() {
  local runtime="$1" version="$2" dir work
  dir="$pai_images_cache/node-sass-$version-$(basename "$runtime")"
  if [[ ! -f "$dir.done" ]]; then
    lab_log "building node-sass $version's binding (libsass) for $(basename "$runtime"): a few minutes"
    work="$(pai_work node-sass)"
    pai_node_gyp_shim "$work/bin"
    local node_extra_path="$work/bin"
    # Only its run-time dependencies (nan for the build): its dev ones come from GitHub.
    (cd "$work" && npm pack --silent "node-sass@$version" >/dev/null && tar -xzf "node-sass-$version.tgz" \
      && cd package && node_run "$runtime" npm install --silent --production --ignore-scripts --no-package-lock --no-audit \
      && node_run "$runtime" node-gyp rebuild -j 2 --libsass_ext= --libsass_cflags= \
        --libsass_ldflags= --libsass_library=) >"$work/build.log" 2>&1 \
      || { tail -30 "$work/build.log" >&2; return 1; }
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$work/package/build/Release/binding.node" "$dir/"
    touch "$dir.done"
    rm -rf "$work"
    lab_changed "built node-sass $version's binding in $dir"
  fi
  echo "$dir/binding.node"
}

# src/webportal/build: build-pre.sh copies the repository's docs/ and examples/ (not in the src/
# archive: left out) and version/ in, COMMIT.VERSION empty; webportal.common.dockerfile: FROM
# node:carbon, WORKDIR /usr/src/app, NODE_ENV=production SERVER_PORT=8080, yarn version, npm
# install json -g, json -I commitVersion, yarn install --production=false, npm run build (webpack),
# CMD npm start. Its yarn.lock fetches morris.js from a GitHub commit: yarn finds that tarball in
# an offline mirror made from the morris.js source (yarn looks in the mirror before the network).
pai_image_webportal() {
  local ref morris_key runtime key work app sass_version binding abi morris_url
  morris_key="$(upstream_key morris.js)" || return 2
  pai_node_recipe_key webportal CARBON "$morris_key" || return
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work webportal)"
  upstream_copy pai "$work/pai"
  app="$work/image/usr/src/app"
  mkdir -p "$(dirname "$app")" "$work/global/usr/local"
  cp -a "$work/pai/src/webportal" "$app"
  rm -rf "$app/build"
  pai_version_dir "$app" "$app/version"
  echo "" >"$app/version/COMMIT.VERSION"
  sass_version="$(awk '/^node-sass@/ {found = 1} found && /^  version / {gsub(/"/, "", $2); print $2; exit}' "$app/yarn.lock")"
  binding="$(pai_node_sass_binding "$runtime" "$sass_version")"
  # The mirror's file name is the last part of the locked URL (.../tar.gz/<commit>).
  morris_url="$(awk '/^"morris.js@github:/ {found = 1} found && /^  resolved / {gsub(/"/, "", $2); print $2; exit}' "$app/yarn.lock")"
  mkdir -p "$work/yarn-mirror"
  tar -czf "$work/yarn-mirror/${morris_url##*/}" -C "$(dirname "$(upstream_dir morris.js)")" \
    --transform "s|^$(basename "$(upstream_dir morris.js)")|morris.js|" "$(basename "$(upstream_dir morris.js)")"
  abi="$(node_run "$runtime" node -p 'process.versions.modules')"
  pai_node_gyp_shim "$work/bin"
  # shellcheck disable=SC2034 # read by node_run
  local node_extra_path="$work/bin"
  (cd "$app" && export NODE_ENV=production SASS_BINARY_PATH="$binding" npm_config_yarn_offline_mirror="$work/yarn-mirror" \
    && node_run "$runtime" yarn --no-git-tag-version --new-version version "$(cat version/PAI.VERSION)" \
    && node_run "$runtime" npm install --silent -g --prefix "$work/global/usr/local" json \
    && node_run "$runtime" "$work/global/usr/local/bin/json" -I -f package.json -e "this.commitVersion=\"$(cat version/COMMIT.VERSION)\"" \
    && node_run "$runtime" yarn install --production=false \
    && mkdir -p "node_modules/node-sass/vendor/linux-x64-$abi" \
    && cp "$binding" "node_modules/node-sass/vendor/linux-x64-$abi/binding.node" \
    && node_run "$runtime" npm run build) >"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log" >&2; return 1; }
  cp -a "$work/global/." "$work/image/"
  pai_node_image "$ref" "$key" "$runtime" "$work/image"
  oci_env NODE_ENV=production SERVER_PORT=8080
  oci_config --config.exposedports 8080/tcp
  oci_workdir /usr/src/app
  oci_cmd npm start
  oci_commit >/dev/null
  rm -rf "$work"
}
