#!/usr/bin/env bash
# OCI images without a Docker daemon: umoci builds OCI layouts under $lab_cache/oci, skopeo pushes
# them to the lab registry. Source it after common.sh (and rootfs.sh for Debian-based layers).
#
# Build one image, cached by a key of its inputs:
#   key="$(oci_key "$version" "$source_dir" "${BASH_SOURCE[0]}")"
#   if ! oci_cached docker.io/openpai/rest-server:v1.8.0 "$key"; then
#     oci_begin docker.io/openpai/rest-server:v1.8.0 "$key"
#     oci_add_tree "$(lab_rootfs python python3)"   # a whole Debian tree, docs and apt lists left out
#     oci_add_dir "$app_dir" /app                   # a directory as one layer, at /app
#     oci_entrypoint /usr/bin/python3 /app/main.py
#     oci_commit                                    # prints the layout path, records the image
#   fi
#
# Functions (every REF is fully qualified: host/path:tag, as upstream names it):
#   oci_key INPUT...            prints a 16-hex key: strings as given, files by content, directories
#                               by names + contents (so pass versions, source trees, build scripts)
#   oci_cached REF KEY          true (and REF recorded for publishing) if built with KEY before
#   oci_begin REF KEY           starts an empty image (FROM scratch); the calls below act on it
#   oci_add_dir DIR [DEST [DESCRIPTION]]  DIR's contents as one layer at DEST (default /), owners
#                               kept; DESCRIPTION goes into the image history (default "add
#                               <basename DIR> DEST": pass one for a mktemp dir, or digests vary)
#   oci_add_file SRC DEST [MODE]  one file as a layer (mode default: SRC's)
#   oci_add_tree TREE           a whole Debian tree (lab_rootfs) as one layer, without docs, man
#                               pages, locales, apt lists/caches, logs, /dev, /proc, /sys, /run, /tmp
#   oci_add_packages TREE PKG...  distroless-style layer: only the files of PKGs and of their
#                               Depends/Pre-Depends closure as installed in TREE (install-time-only
#                               packages in $oci_skip_packages and files matching
#                               $oci_package_excludes left out), their update-alternatives
#                               links, merged-/usr links, an ld.so.cache, and one
#                               /var/lib/dpkg/status.d/<pkg> stanza per package (for scanners)
#   oci_add_base_files          what distroless/static has besides certificates: /etc/passwd and
#                               /etc/group (root, nobody 65534, nonroot 65532), /etc/nsswitch.conf,
#                               /tmp (1777), /run, /root, /home/nonroot
#   oci_entrypoint ARG...       image entrypoint (none: cleared)
#   oci_cmd ARG...              image cmd (none: cleared)
#   oci_workdir DIR | oci_user USER[:GROUP] | oci_env K=V... | oci_label K=V...
#   oci_config UMOCI-CONFIG-ARG...  any other `umoci config` flag (e.g. --config.stopsignal SIGINT)
#   oci_commit                  finishes the image: moves it to its cached layout, records it,
#                               prints the layout path (tag inside the layout = REF's tag)
#   oci_refs                    lists recorded images: "REF<TAB>LAYOUT" per line
#   oci_publish REGISTRY        pushes every recorded image to REGISTRY/<REF without host>:<tag>
#                               (plain HTTP), skipping those whose manifest digest is already there
#   oci_prune                   deletes cached layouts no record points to (superseded keys)
#
# Layouts: $lab_cache/oci/layouts/<ref>-<key>/ (OCI image layout, one tag); records:
# $lab_cache/oci/refs/<ref> (lines ref=, layout=). Layers and configs carry the fixed time
# $OCI_CREATED (default the epoch, like ko- and bazel-built upstream images), so the same inputs
# give the same digests, and a rebuilt cache does not make the registry copy stale.

# shellcheck disable=SC2154 # lab_cache comes from common.sh
oci_root="$lab_cache/oci"
OCI_CREATED="${OCI_CREATED:-1970-01-01T00:00:00Z}"
# Needed only by maintainer scripts (install time), never by a container's processes.
oci_skip_packages="${oci_skip_packages:-debconf debconf-2.0 cdebconf perl-base dpkg install-info init-system-helpers adduser lsb-base sysvinit-utils}"

# Files oci_add_packages leaves out (extended regex on paths without the leading /): docs, and
# glibc's charset converters (8 MB; iconv keeps its built-in UTF-8/ASCII/Latin-1).
oci_package_excludes="${oci_package_excludes:-^usr/share/(doc|man|info|locale|lintian|bug|doc-base)(/|\$)|^usr/lib/[^/]+/gconv(/|\$)}"

# State of the image being built (between oci_begin and oci_commit).
oci_current_ref="" oci_current_key="" oci_current_layout="" oci_current_tag=""

oci_key() {
  local input
  for input in "$@"; do
    if [[ -f "$input" ]]; then
      printf 'file %s\n' "$(sha256sum <"$input" | cut -d' ' -f1)"
    elif [[ -d "$input" ]]; then
      printf 'dir %s\n' "$(cd "$input" && find . \( -type f -o -type l \) -print0 | LC_ALL=C sort -z \
        | xargs -0 -r sha256sum 2>/dev/null | sha256sum | cut -d' ' -f1)"
    else
      printf 'str %s\n' "$input"
    fi
  done | sha256sum | cut -c1-16
}

# registry.k8s.io/coredns/coredns:v1.12.1 -> registry.k8s.io+coredns+coredns+v1.12.1
oci_ref_name() { local name="${1//\//+}"; echo "${name//:/+}"; }

oci_check_ref() {
  [[ "$1" =~ ^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9_.-]+$ && "${1%%/*}" == *[.:]* ]] \
    || lab_die "image reference '$1' is not host/path:tag (fully qualified, e.g. docker.io/library/x:1)"
}

oci_record() {
  local ref="$1" layout="$2" record
  record="$oci_root/refs/$(oci_ref_name "$ref")"
  mkdir -p "$oci_root/refs"
  if [[ "$(cat "$record" 2>/dev/null)" != "$(printf 'ref=%s\nlayout=%s' "$ref" "$layout")" ]]; then
    printf 'ref=%s\nlayout=%s\n' "$ref" "$layout" >"$record.tmp" && mv "$record.tmp" "$record"
  fi
}

oci_layout_path() { echo "$oci_root/layouts/$(oci_ref_name "$1")-$2"; }

oci_cached() {
  local ref="$1" key="$2" layout
  oci_check_ref "$ref"
  layout="$(oci_layout_path "$ref" "$key")"
  [[ -f "$layout/.done" ]] || return 1
  oci_record "$ref" "$layout"
}

oci_begin() {
  local ref="$1" key="$2"
  oci_check_ref "$ref"
  command -v umoci >/dev/null || lab_die "umoci is missing: apt-get install umoci"
  mkdir -p "$oci_root/layouts"
  oci_current_ref="$ref" oci_current_key="$key" oci_current_tag="${ref##*:}"
  oci_current_layout="$(mktemp -d "$oci_root/layouts/.building-XXXXXX")"
  rmdir "$oci_current_layout"
  umoci init --layout "$oci_current_layout"
  umoci new --image "$oci_current_layout:$oci_current_tag"
}

oci_require_image() { [[ -n "$oci_current_layout" ]] || lab_die "no image being built: call oci_begin first"; }

# oci_add_layer_tar DESCRIPTION: reads an uncompressed layer tar on stdin.
oci_add_layer_tar() {
  oci_require_image
  umoci raw add-layer --image "$oci_current_layout:$oci_current_tag" --history.created "$OCI_CREATED" \
    --history.created_by "$1" /dev/stdin
}

# A scratch directory for a layer; 0755 because its mode becomes the mode of / in the image.
oci_staging_dir() { local dir; dir="$(mktemp -d)"; chmod 0755 "$dir"; echo "$dir"; }

# Deterministic tar of a directory's contents: sorted, fixed mtime, numeric owners as on disk, no
# access/change times or process ids in the pax headers (xattrs need the pax format). The
# directory itself is left out, so its mode never becomes the mode of the image's /.
oci_tar_dir() {
  local dir="$1"
  shift
  find "$dir" -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort \
    | tar -C "$dir" --sort=name --mtime="$OCI_CREATED" --numeric-owner --xattrs \
      --xattrs-include='security.capability' --format=posix \
      --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' \
      "$@" --verbatim-files-from -T - -cf -
}

oci_add_dir() {
  local dir="$1" dest="${2:-/}" staging description
  description="${3:-add $(basename "$dir") $dest}"
  [[ -d "$dir" ]] || lab_die "oci_add_dir: $dir is not a directory"
  if [[ "$dest" == / ]]; then
    oci_tar_dir "$dir" | oci_add_layer_tar "$description"
  else
    # Stage under the destination path (hard links where the file system allows: no copy).
    staging="$(oci_staging_dir)"
    mkdir -p "$staging$(dirname "$dest")"
    cp -al "$dir" "$staging$dest" 2>/dev/null || { rm -rf "${staging:?}$dest"; cp -a "$dir" "$staging$dest"; }
    oci_tar_dir "$staging" | oci_add_layer_tar "$description"
    rm -rf "$staging"
  fi
}

oci_add_file() {
  local src="$1" dest="$2" mode="${3:-}" staging
  [[ -f "$src" ]] || lab_die "oci_add_file: $src is not a file"
  staging="$(oci_staging_dir)"
  mkdir -p "$staging$(dirname "$dest")"
  cp -a "$src" "$staging$dest"
  chown 0:0 "$staging$dest"
  [[ -z "$mode" ]] || chmod "$mode" "$staging$dest"
  oci_tar_dir "$staging" | oci_add_layer_tar "add $(basename "$src") $dest"
  rm -rf "$staging"
}

# What no container needs and upstream images leave out too.
# (Anchored at the tree's top.)
oci_tree_excludes=(
  usr/share/doc/* usr/share/man/* usr/share/info/* usr/share/locale/* usr/share/lintian/*
  usr/share/linda/* usr/share/bug/* usr/share/doc-base/* var/lib/apt/lists/* var/cache/apt/*
  var/cache/debconf/*-old var/lib/dpkg/*-old var/log/* dev/* proc/* sys/* run/* tmp/*
)

oci_add_tree() {
  local tree="$1" excludes=(--anchored) pattern
  [[ -f "$tree/var/lib/dpkg/status" ]] || lab_die "oci_add_tree: $tree is not a Debian tree"
  for pattern in "${oci_tree_excludes[@]}"; do excludes+=("--exclude=$pattern"); done
  oci_tar_dir "$tree" "${excludes[@]}" | oci_add_layer_tar "add Debian tree $(basename "$tree")"
}

oci_add_base_files() {
  local staging
  staging="$(oci_staging_dir)"
  mkdir -p "$staging/etc" "$staging/tmp" "$staging/run" "$staging/root" "$staging/home/nonroot"
  chmod 1777 "$staging/tmp"
  chmod 0700 "$staging/root" "$staging/home/nonroot"
  chown 65532:65532 "$staging/home/nonroot"
  # The users distroless images define (nonroot is what e.g. CoreDNS's image runs as).
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$staging/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$staging/etc/group"
  printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$staging/etc/nsswitch.conf"
  oci_tar_dir "$staging" | oci_add_layer_tar "add base files (users, nsswitch.conf, tmp, run, home dirs)"
  rm -rf "$staging"
}

oci_config() {
  oci_require_image
  umoci config --no-history --image "$oci_current_layout:$oci_current_tag" "$@"
}

oci_entrypoint() {
  local args=(--clear=config.entrypoint) arg
  for arg in "$@"; do args+=(--config.entrypoint "$arg"); done
  oci_config "${args[@]}"
}

oci_cmd() {
  local args=(--clear=config.cmd) arg
  for arg in "$@"; do args+=(--config.cmd "$arg"); done
  oci_config "${args[@]}"
}

oci_workdir() { oci_config --config.workingdir "$1"; }
oci_user() { oci_config --config.user "$1"; }

oci_env() {
  local args=() arg
  for arg in "$@"; do args+=(--config.env "$arg"); done
  oci_config "${args[@]}"
}

oci_label() {
  local args=() arg
  for arg in "$@"; do args+=(--config.label "$arg"); done
  oci_config "${args[@]}"
}

oci_commit() {
  oci_require_image
  local layout
  layout="$(oci_layout_path "$oci_current_ref" "$oci_current_key")"
  oci_config --created "$OCI_CREATED"
  umoci gc --layout "$oci_current_layout"
  touch "$oci_current_layout/.done"
  rm -rf "$layout"
  mv "$oci_current_layout" "$layout"
  oci_record "$oci_current_ref" "$layout"
  lab_changed "built image $oci_current_ref ($(du -sh "$layout" | cut -f1) compressed) in $layout"
  oci_current_ref="" oci_current_key="" oci_current_layout="" oci_current_tag=""
  echo "$layout"
}

# oci_package_closure ADMINDIR PKG...: the installed packages PKGs need at run time (Depends and
# Pre-Depends, first installed alternative, virtual packages through Provides), minus
# $oci_skip_packages.
oci_package_closure() {
  local admindir="$1"
  shift
  dpkg-query --admindir="$admindir" -W \
    -f='${Package}\t${db:Status-Abbrev}\t${Provides}\t${Pre-Depends}, ${Depends}\n' \
    | awk -F'\t' -v wanted="$*" -v skip="$oci_skip_packages" '
      function name(spec) { sub(/\(.*/, "", spec); gsub(/[ \t]/, "", spec); sub(/:.*/, "", spec); return spec }
      $2 ~ /^ii/ {
        installed[$1] = 1; deps[$1] = $4
        n = split($3, provided, ","); for (i = 1; i <= n; i++) provider[name(provided[i])] = $1
      }
      END {
        n = split(skip, s, " "); for (i = 1; i <= n; i++) skipped[s[i]] = 1
        n = split(wanted, queue, " ")
        for (i = 1; i <= n; i++) if (!(queue[i] in installed)) { print "missing " queue[i]; exit 1 }
        for (head = 1; head <= n; head++) {
          pkg = queue[head]; if (pkg in seen) continue
          seen[pkg] = 1; print pkg
          groups = split(deps[pkg], group, ",")
          for (g = 1; g <= groups; g++) {
            alts = split(group[g], alt, "|"); chosen = ""
            for (a = 1; a <= alts && chosen == ""; a++) {
              dep = name(alt[a])
              if (dep in installed) chosen = dep; else if (dep in provider) chosen = provider[dep]
            }
            if (chosen != "" && !(chosen in skipped) && !(chosen in seen)) queue[++n] = chosen
          }
        }
      }'
}

oci_add_packages() {
  local tree="$1" admindir="$1/var/lib/dpkg" staging packages pkg list link name target top moves=()
  shift
  packages="$(oci_package_closure "$admindir" "$@")" || lab_die "oci_add_packages: $packages (not in $tree)"
  staging="$(oci_staging_dir)"
  # Merged /usr: dpkg lists /bin/x, the file lives in /usr/bin/x; keep the top-level links as links.
  for top in bin sbin lib lib32 lib64 libx32; do
    [[ -L "$tree/$top" ]] || continue
    moves+=(-e "s|^$top/|$(readlink "$tree/$top")/|" -e "\\|^$top\$|d")
    cp -a "$tree/$top" "$staging/$top"
  done
  for pkg in $packages; do
    list="$(find "$admindir/info" -maxdepth 1 \( -name "$pkg.list" -o -name "$pkg:*.list" \) | head -n1)"
    cat "$list"
  done | sed -e 's|^/||' -e '/^\.\?$/d' "${moves[@]}" \
    | grep -v -E "$oci_package_excludes" | LC_ALL=C sort -u >"$staging.files"
  tar -C "$tree" --no-recursion --xattrs --xattrs-include='security.capability' -T "$staging.files" -cf - \
    | tar -C "$staging" --xattrs --xattrs-include='security.capability' -xpf -
  rm -f "$staging.files"
  # update-alternatives links (e.g. iptables -> /etc/alternatives/iptables -> iptables-nft) are made
  # by maintainer scripts, so not in any file list: keep those whose choice is in the layer.
  mkdir -p "$staging/etc/alternatives"
  while IFS= read -r link; do
    name="$(basename "$(readlink "$link")")"
    target="$(readlink "$tree/etc/alternatives/$name")" || continue
    if [[ -e "$staging$target" || -L "$staging$target" ]]; then
      cp -a "$tree/etc/alternatives/$name" "$staging/etc/alternatives/$name"
      mkdir -p "$staging$(dirname "${link#"$tree"}")"
      cp -a "$link" "$staging${link#"$tree"}"
    fi
  done < <(find "$tree/usr/bin" "$tree/usr/sbin" "$tree/usr/lib" -type l -lname '/etc/alternatives/*' 2>/dev/null)
  rmdir --ignore-fail-on-non-empty "$staging/etc/alternatives"
  # Package records for image scanners, as distroless images carry them.
  mkdir -p "$staging/var/lib/dpkg/status.d"
  for pkg in $packages; do
    dpkg-query --admindir="$admindir" -s "$pkg" >"$staging/var/lib/dpkg/status.d/$pkg"
  done
  # The loader cache is made by a trigger, not shipped: make one for exactly these libraries.
  if [[ -d "$staging/usr/lib/x86_64-linux-gnu" ]]; then
    [[ -f "$staging/etc/ld.so.conf" ]] || { mkdir -p "$staging/etc"; cp -a "$tree/etc/ld.so.conf" "$staging/etc/"; }
    [[ -d "$staging/etc/ld.so.conf.d" ]] || cp -a "$tree/etc/ld.so.conf.d" "$staging/etc/"
    ldconfig -r "$staging"
    # Its aux cache records inodes and times: not wanted in a reproducible layer.
    rm -rf "$staging/var/cache/ldconfig"
  fi
  oci_tar_dir "$staging" | oci_add_layer_tar "add Debian packages: $*"
  lab_log "layer of $(wc -w <<<"$packages") Debian packages ($*): $(du -sh "$staging" | cut -f1)"
  rm -rf "$staging"
}

oci_refs() {
  local record
  for record in "$oci_root"/refs/*; do
    [[ -f "$record" ]] || continue
    printf '%s\t%s\n' "$(sed -n 's/^ref=//p' "$record")" "$(sed -n 's/^layout=//p' "$record")"
  done
}

oci_publish() {
  local registry="${1:?usage: oci_publish REGISTRY (host:port)}" ref layout repo tag dest want have pushed=0 present=0
  command -v skopeo >/dev/null || lab_die "skopeo is missing: apt-get install skopeo"
  while IFS=$'\t' read -r ref layout; do
    [[ -f "$layout/.done" ]] || lab_die "the layout recorded for $ref is missing: $layout (rebuild it)"
    repo="${ref#*/}" tag="${ref##*:}"
    repo="${repo%:*}"
    dest="docker://$registry/$repo:$tag"
    want="$(skopeo inspect --raw "oci:$layout:$tag" | sha256sum | cut -d' ' -f1)"
    have="$({ skopeo inspect --tls-verify=false --raw "$dest" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)"
    if [[ "$want" == "$have" ]]; then
      present=$((present + 1))
      continue
    fi
    skopeo copy --quiet --dest-tls-verify=false --preserve-digests "oci:$layout:$tag" "$dest" \
      || lab_die "pushing $ref to $registry failed"
    lab_changed "pushed $ref as $registry/$repo:$tag (sha256:$want)"
    pushed=$((pushed + 1))
  done < <(oci_refs)
  lab_log "published to $registry: $pushed pushed, $present already there"
}

# oci_prune: deletes cached layouts that no record points to (older keys).
oci_prune() {
  local layout
  for layout in "$oci_root"/layouts/*/; do
    layout="${layout%/}"
    grep -qxF "layout=$layout" "$oci_root"/refs/* 2>/dev/null && continue
    rm -rf "$layout"
    lab_changed "removed unused image layout $layout"
  done
}
