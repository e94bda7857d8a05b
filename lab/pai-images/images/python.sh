#!/usr/bin/env bash
# shellcheck disable=SC2154 # lab_*, pai_* and version variables come from the common.sh files and versions
# Python images: openpai-runtime (the job pods' init container) and job-exporter. Upstream: pip
# on python:3.7(-alpine); here: Debian 12's Python 3.11 and its python3-* packages (no PyPI).

# python_minor TREE: the tree's python3 version as 3.N (its site-packages folder names).
python_minor() { basename "$(readlink -f "$1/usr/bin/python3")" | sed 's/^python//'; }

# openpai-runtime build/openpai-runtime.dockerfile (pai v1.8.0's openpai-runtime image is
# FROM openpairuntime/openpai-runtime:v0.1.11, nothing added): WORKDIR /kube-runtime/src holding
# src/ and requirements.txt, init.d/frameworkbarrier (FrameworkController's barrier), runtime.d/
# exithandler (go/, Go) and multilog (daemontools), /opt/package_cache, curl and git, chmod -R +x,
# CMD sh -c "set -o pipefail && ... /kube-runtime/src/init | tee -a ${LOG_DIR}/init.log".
pai_image_openpai_runtime() {
  local ref source_key tree barrier key work app
  ref="$(pai_ref openpai-runtime)"
  source_key="$(upstream_key openpai-runtime)" || return 2
  tree="$(pai_tree python)"
  barrier="$(pai_frameworkbarrier_dist)" || return
  # The barrier's folder is named by its own cache key (FC's source, Go, its recipe).
  key="$(oci_key "$source_key" "$(basename "$barrier")" "$(go_version_string)" "tree $(basename "$tree")" "${BASH_SOURCE[0]}" \
    "$pai_images_dir/lib/go.sh" "${pai_common_inputs[@]}")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work openpai-runtime)"
  upstream_copy openpai-runtime "$work/src"
  go_env bash "$work/src/go/build/runtime/go-build.sh" >"$work/build.log" 2>&1 \
    || { tail -20 "$work/build.log" >&2; return 1; }
  app="$work/image/kube-runtime/src"
  mkdir -p "$app/init.d" "$app/runtime.d" "$work/image/opt/package_cache" "$work/image/usr/bin"
  cp -a "$work/src/src/." "$app/"
  cp -a "$work/src/requirements.txt" "$app/"
  cp -a "$barrier/frameworkbarrier" "$app/init.d/"
  cp -a "$work/src/go/dist/runtime/." "$app/runtime.d/"
  # multilog: upstream compiles daemontools-encore 1.10 statically; Debian's daemontools has it.
  cp -a "$tree/usr/bin/multilog" "$app/runtime.d/"
  chmod -R +x "$app"
  # The CMD sets pipefail, which busybox sh has and Debian's dash lacks: sh is bash here.
  ln -s bash "$work/image/usr/bin/sh"
  oci_begin "$ref" "$key"
  oci_add_tree "$tree"
  oci_add_dir "$work/image"
  oci_env "$pai_default_path" INSTALL_DIR=/opt/kube-runtime LANG=C.UTF-8
  oci_workdir /kube-runtime/src
  # shellcheck disable=SC2016 # expanded by the container's shell
  oci_cmd /bin/sh -c 'set -o pipefail && LOG_DIR=/usr/local/pai/logs/${FC_POD_UID} && mkdir -p ${LOG_DIR} && /kube-runtime/src/init 2>&1 | tee -a ${LOG_DIR}/init.log'
  oci_commit >/dev/null
  rm -rf "$work"
}

# src/job-exporter/build/job-exporter.common.dockerfile: FROM python:3.7, docker 17.06 CLI, iftop,
# lsof, rocm-smi in /opt/rocm/bin, pip prometheus_client twisted, infilter, /job_exporter/*.py,
# PATH += /opt/rocm/bin; no CMD of its own (python:3.7's is python3), the deploy template runs
# `python /job_exporter/main.py ...`.
pai_image_job_exporter() {
  local ref source_key tree key work
  ref="$(pai_ref job-exporter)"
  source_key="$(upstream_key pai)" || return 2
  tree="$(pai_tree python)"
  key="$(oci_key "$source_key" "tree $(basename "$tree")" "${BASH_SOURCE[0]}" "${pai_common_inputs[@]}" \
    "$pai_images_dir/files/job-exporter")"
  pai_remember "$ref"
  oci_cached "$ref" "$key" && return 0
  work="$(pai_work job-exporter)"
  upstream_copy pai "$work/pai"
  mkdir -p "$work/image/job_exporter" "$work/image/opt/rocm/bin"
  cp -a "$work/pai/src/job-exporter/src/"*.py "$work/image/job_exporter/"
  # network.py calls array.tostring(), gone since Python 3.9: a start-up shim brings it back.
  local site
  site="$work/image/usr/local/lib/python$(python_minor "$tree")/dist-packages"
  mkdir -p "$site"
  cp "$pai_images_dir/files/job-exporter/pai_py37_compat.py" "$pai_images_dir/files/job-exporter/pai_py37_compat.pth" "$site/"
  oci_begin "$ref" "$key"
  oci_add_tree "$tree"
  oci_add_dir "$work/image"
  oci_env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/rocm/bin" LANG=C.UTF-8
  oci_cmd python3
  oci_commit >/dev/null
  rm -rf "$work"
}
