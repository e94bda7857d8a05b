#!/usr/bin/env bash
# The lab's stand-in for pkgs.k8s.io: kubeadm, kubelet, kubectl, cri-tools and kubernetes-cni as
# Debian packages with pkgs.k8s.io's names, versions, paths, units and Depends, in a flat
# repository laid out like core:/stable:/v1.<minor>/deb/, signed with a test key made once into
# $lab_cache (never committed). Beside it, a second flat repository, containerd2/, holds
# containerd 2.x as a `containerd` package: only hosts of the containerd 2 flavour have it in their
# apt sources (lab/hosts/provision.sh), as an Ubuntu 24.04 host's archive offers containerd 2.2.
# Source it after common.sh and oci.sh (for oci_key).
#
# The facts (kubernetes/release, cmd/krel/templates/latest, as it built v1.34.3 in Dec 2025):
# kubeadm Depends cri-tools (>= 1.30.0) (krel took the first ">= 1.30.0" rule; no dependency on
# kubelet or kubectl since 1.30); kubelet Depends iptables (>= 1.4.21), kubernetes-cni (>= 1.2.0),
# mount, util-linux; kubectl, cri-tools and kubernetes-cni depend on nothing. Debian flavour:
# /etc/default/kubelet (not /etc/sysconfig/kubelet), *.keep files so dpkg keeps empty dirs.

# shellcheck disable=SC2154 # lab_cache, lab_dir and the pins come from common.sh

apt_maintainer="Kubernetes Authors <dev@kubernetes.io>"
apt_signing_home="$lab_cache/apt-signing"

# apt_minor RELEASE: v1.34 for v1.34.3.
apt_minor() { local minor="${1#v}"; echo "v${minor%.*}"; }

# apt_signing_key: the GnuPG home with the repository's test key (made on first use); prints the
# key's fingerprint.
apt_signing_key() {
  local fingerprint
  if [[ ! -f "$apt_signing_home/fingerprint" ]]; then
    rm -rf "$apt_signing_home"
    mkdir -p "$apt_signing_home"
    mkdir -m 0700 "$apt_signing_home/gnupg"
    gpg --homedir "$apt_signing_home/gnupg" --batch --quiet --pinentry-mode loopback --passphrase '' \
      --quick-gen-key "OpenPAI lab apt repository (test key) <apt@openpai-lab.invalid>" rsa3072 sign never
    gpg --homedir "$apt_signing_home/gnupg" --batch --with-colons --list-secret-keys \
      | awk -F: '$1 == "fpr" { print $10; exit }' >"$apt_signing_home/fingerprint"
    apt_gpg_done
    lab_changed "made the lab apt repository's signing key in $apt_signing_home"
  fi
  fingerprint="$(cat "$apt_signing_home/fingerprint")"
  [[ -n "$fingerprint" ]] || lab_die "no fingerprint in $apt_signing_home/fingerprint: delete that dir"
  echo "$fingerprint"
}

apt_gpg() {
  gpg --homedir "$apt_signing_home/gnupg" --batch --quiet --pinentry-mode loopback --passphrase '' \
    --local-user "$(cat "$apt_signing_home/fingerprint")" --digest-algo SHA256 "$@"
}

# apt_gpg_done: stops the gpg-agent that signing started (it outlives the build otherwise, and the
# lab's teardown promises no process left behind).
apt_gpg_done() {
  gpgconf --homedir "$apt_signing_home/gnupg" --kill gpg-agent
}

# deb_build ROOT NAME VERSION SECTION DEPENDS SUMMARY OUTDIR [HOMEPAGE MAINTAINER]: ROOT holds the
# files; writes the control file (and conffiles for everything under /etc/default) and builds
# OUTDIR/NAME_VERSION_amd64.deb. HOMEPAGE and MAINTAINER default to Kubernetes'.
deb_build() {
  local root="$1" name="$2" version="$3" section="$4" depends="$5" summary="$6" out="$7"
  local homepage="${8:-https://kubernetes.io}" maintainer="${9:-$apt_maintainer}"
  mkdir -p "$root/DEBIAN"
  {
    printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: %s\n' "$name" "$version" "$maintainer"
    printf 'Installed-Size: %s\n' "$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    [[ -z "$depends" ]] || printf 'Depends: %s\n' "$depends"
    printf 'Section: %s\nPriority: optional\nHomepage: %s\n' "$section" "$homepage"
    printf 'Description: %s\n %s.\n' "$summary" "$summary"
  } >"$root/DEBIAN/control"
  if [[ -d "$root/etc/default" ]]; then
    (cd "$root" && find etc/default -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
  fi
  find "$root" -type d -exec chmod 0755 {} +
  SOURCE_DATE_EPOCH=0 dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$out/${name}_${version}_amd64.deb" >/dev/null
}

# install_files ROOT MODE SOURCE DEST...: pairs of SOURCE DEST (DEST relative to ROOT).
install_files() {
  local root="$1" mode="$2"
  shift 2
  while (($# >= 2)); do
    install -D -m "$mode" "$1" "$root/$2"
    shift 2
  done
}

# deb_service_scripts ROOT UNIT: the maintainer scripts of a package with one systemd service
# (deb/service.*, debhelper's default handling), for UNIT.
deb_service_scripts() {
  local root="$1" unit="$2" script
  mkdir -p "$root/DEBIAN"
  for script in postinst prerm postrm; do
    sed "s/@UNIT@/$unit/g" "$lab_dir/artifacts/deb/service.$script" >"$root/DEBIAN/$script"
    chmod 0755 "$root/DEBIAN/$script"
  done
}

# apt_repo_debs OUTDIR RELEASE KUBE_BIN CNI_VERSION CNI_BIN: the five packages of one Kubernetes
# release (an apt_releases entry); cri-tools from $crictl_bin (build.sh).
apt_repo_debs() {
  local out="$1" release="$2" kube_bin="$3" cni_version="$4" cni_bin="$5"
  local work kube_version="${release#v}-$KUBE_PACKAGE_REVISION" kube_src tools_src root deb="$lab_dir/artifacts/deb"
  work="$(mktemp -d)"
  kube_src="$(go mod download -json "k8s.io/kubernetes@$release" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  tools_src="$(go mod download -json "sigs.k8s.io/cri-tools@$CRI_TOOLS_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"

  root="$work/kubeadm"
  install_files "$root" 0755 "$kube_bin/kubeadm" usr/bin/kubeadm
  install_files "$root" 0644 "$deb/10-kubeadm.conf" usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf \
    "$kube_src/LICENSE" usr/share/doc/kubeadm/LICENSE
  deb_build "$root" kubeadm "$kube_version" admin "cri-tools (>= 1.30.0)" \
    "Command-line utility for administering a Kubernetes cluster" "$out"

  root="$work/kubelet"
  install_files "$root" 0755 "$kube_bin/kubelet" usr/bin/kubelet
  install_files "$root" 0644 "$deb/kubelet.service" usr/lib/systemd/system/kubelet.service \
    "$deb/kubelet.default" etc/default/kubelet "$kube_src/LICENSE" usr/share/doc/kubelet/LICENSE \
    /dev/null var/lib/kubelet/.kubelet-keep /dev/null etc/kubernetes/manifests/.kubelet-keep
  deb_service_scripts "$root" kubelet.service
  deb_build "$root" kubelet "$kube_version" net "iptables (>= 1.4.21), kubernetes-cni (>= 1.2.0), mount, util-linux" \
    "Node agent for Kubernetes clusters" "$out"

  root="$work/kubectl"
  install_files "$root" 0755 "$kube_bin/kubectl" usr/bin/kubectl
  install_files "$root" 0644 "$kube_src/LICENSE" usr/share/doc/kubectl/LICENSE
  deb_build "$root" kubectl "$kube_version" admin "" \
    "Command-line utility for interacting with a Kubernetes cluster" "$out"

  root="$work/cri-tools"
  install_files "$root" 0755 "$crictl_bin/crictl" usr/bin/crictl
  install_files "$root" 0644 "$tools_src/LICENSE" usr/share/doc/cri-tools/LICENSE
  deb_build "$root" cri-tools "${CRI_TOOLS_VERSION#v}-$KUBE_PACKAGE_REVISION" admin "" \
    "Command-line utility for interacting with a container runtime" "$out"

  # The release archive's contents, LICENSE and README.md included, go to /opt/cni/bin as upstream.
  root="$work/kubernetes-cni"
  mkdir -p "$root/opt/cni/bin"
  find "$cni_bin" -maxdepth 1 -type f ! -name '.*' -exec cp -p {} "$root/opt/cni/bin/" \;
  install_files "$root" 0644 /dev/null etc/cni/net.d/.kubernetes-cni-keep \
    "$cni_bin/LICENSE" usr/share/doc/kubernetes-cni/LICENSE "$cni_bin/README.md" usr/share/doc/kubernetes-cni/README.md
  deb_build "$root" kubernetes-cni "${cni_version#v}-$KUBE_PACKAGE_REVISION" net "" \
    "Binaries required to provision kubernetes container networking" "$out"
  rm -rf "$work"
}

# apt_repo_containerd_debs OUTDIR: containerd 2.x as one `containerd` package with the paths of
# Debian's and Ubuntu's (binaries in /usr/bin, the unit in /lib/systemd/system) and no config
# file: containerd's defaults until the project writes /etc/containerd/config.toml. Input:
# $containerd_bin (build.sh).
apt_repo_containerd_debs() {
  local out="$1" root
  root="$(mktemp -d)"
  install_files "$root" 0755 "$containerd_bin/containerd" usr/bin/containerd "$containerd_bin/ctr" usr/bin/ctr \
    "$containerd_bin/containerd-shim-runc-v2" usr/bin/containerd-shim-runc-v2
  install_files "$root" 0644 "$lab_dir/artifacts/deb/containerd.service" lib/systemd/system/containerd.service \
    "$containerd_bin/LICENSE" usr/share/doc/containerd/LICENSE
  deb_service_scripts "$root" containerd.service
  deb_build "$root" containerd "$CONTAINERD2_PACKAGE_VERSION" admin "runc" \
    "open and reliable container runtime (containerd ${CONTAINERD2_VERSION#v}, lab build)" "$out" \
    https://containerd.io "containerd Authors <cncf-containerd-maintainers@lists.cncf.io>"
  rm -rf "$root"
}

# apt_repo_index DIR LABEL: Packages, Packages.gz, Release, Release.gpg, InRelease, Release.key for
# the flat repository in DIR (packages in DIR/amd64, as pkgs.k8s.io serves them).
apt_repo_index() {
  local dir="$1" label="$2" file sum
  (cd "$dir" && dpkg-scanpackages --multiversion amd64 /dev/null 2>/dev/null) >"$dir/Packages"
  gzip -9n <"$dir/Packages" >"$dir/Packages.gz"
  {
    printf 'Origin: openpai-lab\nLabel: %s\n' "$label"
    printf 'Architectures: amd64\nDate: %s\n' "$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
    for sum in MD5Sum:md5sum SHA1:sha1sum SHA256:sha256sum; do
      printf '%s:\n' "${sum%%:*}"
      for file in Packages Packages.gz; do
        printf ' %s %s %s\n' "$("${sum#*:}" <"$dir/$file" | cut -d' ' -f1)" "$(stat -c %s "$dir/$file")" "$file"
      done
    done
  } >"$dir/Release"
  apt_gpg --armor --detach-sign --output "$dir/Release.gpg" "$dir/Release"
  apt_gpg --clearsign --output "$dir/InRelease" "$dir/Release"
  apt_gpg --armor --export --output "$dir/Release.key" "$(cat "$apt_signing_home/fingerprint")"
  apt_gpg_done
}

# apt_repo: builds the repository for the current inputs unless built, one core:/stable:/v1.<minor>/
# suite per entry of apt_releases ("RELEASE KUBE_BIN CNI_VERSION CNI_BIN", build.sh), points
# $lab_cache/apt-repo at it; prints "cached" or "built".
apt_repo() {
  local fingerprint key tree dir status=cached release release_inputs=() entry kube_bin cni_bin
  fingerprint="$(apt_signing_key)"
  for entry in "${apt_releases[@]}"; do
    read -r release kube_bin _ cni_bin <<<"$entry"
    release_inputs+=("$entry" "$kube_bin/kubeadm" "$kube_bin/kubelet" "$kube_bin/kubectl" "$cni_bin")
  done
  key="$(oci_key "${release_inputs[@]}" "$CRI_TOOLS_VERSION" "$KUBE_PACKAGE_REVISION" \
    "$CONTAINERD2_VERSION" "$CONTAINERD2_PACKAGE_VERSION" "$fingerprint" "$crictl_bin/crictl" "$containerd_bin" "$lab_dir/artifacts/deb" \
    "$(declare -f apt_repo_debs apt_repo_containerd_debs deb_build deb_service_scripts install_files apt_repo_index)")"
  tree="$lab_cache/apt/$key"
  if [[ ! -f "$tree/.done" ]]; then
    rm -rf "$tree"
    for entry in "${apt_releases[@]}"; do
      read -r release _ <<<"$entry"
      dir="$tree/core:/stable:/$(apt_minor "$release")/deb"
      mkdir -p "$dir/amd64"
      # shellcheck disable=SC2086 # the entry's four words are the function's last four arguments
      apt_repo_debs "$dir/amd64" $entry >&2
      apt_repo_index "$dir" "Kubernetes $(apt_minor "$release") packages (lab build, stands in for pkgs.k8s.io)"
    done
    mkdir -p "$tree/containerd2/amd64"
    apt_repo_containerd_debs "$tree/containerd2/amd64" >&2
    apt_repo_index "$tree/containerd2" "containerd ${CONTAINERD2_VERSION#v} (lab build, as Ubuntu 24.04's archive offers containerd 2.2)"
    touch "$tree/.done"
    lab_changed "built the apt repository $tree ($(du -sh "$tree" | cut -f1))"
    status=built
  fi
  if [[ "$(readlink "$lab_cache/apt-repo" 2>/dev/null)" != "$tree" ]]; then
    # The lab's HTTP server may have made an empty placeholder directory before the first build.
    if [[ -d "$lab_cache/apt-repo" && ! -L "$lab_cache/apt-repo" ]]; then
      rmdir "$lab_cache/apt-repo" 2>/dev/null || lab_die "$lab_cache/apt-repo is a non-empty directory: move it away"
    fi
    ln -sfn "$tree" "$lab_cache/.apt-repo.tmp"
    mv -T "$lab_cache/.apt-repo.tmp" "$lab_cache/apt-repo"
    lab_changed "$lab_cache/apt-repo now points at $tree"
  fi
  echo "$status"
}
