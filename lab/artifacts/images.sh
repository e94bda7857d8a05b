#!/usr/bin/env bash
# The kubeadm cluster's images, under the names, tags, paths and entrypoints upstream gives them
# (lab/artifacts/README.md lists how each differs). Source it after common.sh, rootfs.sh, oci.sh
# and binaries.sh; images_build_all (build.sh) sets the inputs below and builds each image.

# shellcheck disable=SC2154 # versions and lab_dir come from common.sh

# Debian packages the images take files from (copied out, never the whole tree).
images_rootfs() {
  lab_rootfs image-packages iptables ipset iproute2 conntrack nftables ca-certificates bash-static busybox-static
}

# Inputs, set by images_build_all: the Debian tree and the binary directories.
image_tree="" kube_bin="" go_runner_bin="" etcd_bin="" coredns_bin="" pause_bin="" kube_router_bin="" cni_bin=""
# The control-plane component the control-plane image function builds.
image_component=""

# What distroless/static gives upstream's Go images: users, nsswitch, CA certificates, PATH.
image_static_base() {
  oci_add_base_files
  oci_add_file "$image_tree/etc/ssl/certs/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt 0644
  oci_env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
  oci_workdir /
}

# kube-apiserver, kube-controller-manager, kube-scheduler: go-runner base + the binary.
image_control_plane() {
  image_static_base
  oci_add_file "$go_runner_bin/go-runner" /go-runner 0755
  oci_add_file "$kube_bin/$image_component" "/usr/local/bin/$image_component" 0755
  oci_entrypoint /go-runner
}

# kube-proxy: upstream's base is distroless-iptables (iptables, ip6tables, ipset, conntrack, nft,
# a shell); here the same tools come from Debian's packages, iptables set to its nft backend.
image_kube_proxy() {
  image_static_base
  oci_add_packages "$image_tree" iptables ipset conntrack nftables dash
  oci_add_file "$go_runner_bin/go-runner" /go-runner 0755
  oci_add_file "$kube_bin/kube-proxy" /usr/local/bin/kube-proxy 0755
}

# etcd: distroless/static + a static shell as /bin/sh + etcd, etcdctl, etcdutl.
image_etcd() {
  local binary
  image_static_base
  oci_add_file "$image_tree/usr/bin/bash-static" /bin/sh 0755
  for binary in etcd etcdctl etcdutl; do
    oci_add_file "$etcd_bin/$binary" "/usr/local/bin/$binary" 0755
  done
  oci_config --config.exposedports 2379/tcp --config.exposedports 2380/tcp \
    --config.exposedports 4001/tcp --config.exposedports 7001/tcp
}

# CoreDNS: distroless/static:nonroot + /coredns allowed to bind port 53 (file capability).
image_coredns() {
  local staging
  image_static_base
  staging="$(oci_staging_dir)"
  cp "$coredns_bin/coredns" "$staging/coredns"
  chmod 0755 "$staging/coredns"
  setcap cap_net_bind_service=+ep "$staging/coredns"
  oci_add_dir "$staging" / "add /coredns (cap_net_bind_service)"
  rm -rf "$staging"
  oci_user nonroot:nonroot
  oci_config --config.exposedports 53/tcp --config.exposedports 53/udp
  oci_entrypoint /coredns
}

# pause: FROM scratch, the static binary only.
image_pause() {
  oci_add_file "$pause_bin/pause" /pause 0755
  oci_user 65535:65535
  oci_entrypoint /pause
}

# kube-router: upstream's is Alpine + iptables, ip6tables, ipset, iproute2, ipvsadm,
# conntrack-tools, curl, bash; kube-router, gobgp and cni-install in /usr/local/bin, the CNI
# plugins in /usr/libexec/cni. Here: the same tools from Debian (no ipvsadm: no IPVS in the lab).
image_kube_router() {
  local staging
  image_static_base
  oci_add_packages "$image_tree" iptables ipset iproute2 conntrack nftables bash coreutils dash
  staging="$(oci_staging_dir)"
  mkdir -p "$staging/usr/local/bin" "$staging/usr/libexec/cni" "$staging/var/lib/gobgp"
  cp "$kube_router_bin/kube-router" "$kube_router_bin/gobgp" "$staging/usr/local/bin/"
  install -m 0755 "$lab_dir/artifacts/image-files/cni-install" "$staging/usr/local/bin/cni-install"
  find "$cni_bin" -maxdepth 1 -type f -perm -u+x -exec cp {} "$staging/usr/libexec/cni/" \;
  oci_add_dir "$staging" / "add kube-router, gobgp, cni-install, CNI plugins"
  rm -rf "$staging"
  oci_workdir /root
  oci_entrypoint /usr/local/bin/kube-router
}

# busybox: what tests run in pods (sh, wget, nslookup, httpd, ping). Upstream's image is
# busybox's own build with every applet linked in /bin and CMD sh; here Debian's static busybox,
# hence the tag of Debian's busybox release.
image_busybox() {
  local staging applet
  oci_add_base_files
  staging="$(oci_staging_dir)"
  mkdir -p "$staging/bin"
  install -m 0755 "$image_tree/bin/busybox" "$staging/bin/busybox"
  for applet in $("$image_tree/bin/busybox" --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "$staging/bin/$applet"
  done
  oci_add_dir "$staging" / "add busybox and its applets"
  rm -rf "$staging"
  oci_env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  oci_cmd sh
}

# debian: the example jobs' image (examples/jobs). Upstream's debian:12 is a debootstrap minbase
# of bookworm too; here the lab's own minbase tree (lab_rootfs, no extra packages).
image_debian() {
  oci_add_tree "$(lab_rootfs debian)"
  oci_env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  oci_cmd bash
}

# image_build REF FUNCTION INPUT...: builds REF with FUNCTION unless built with the same inputs
# (the function's text, the oci library, INPUT files/strings); prints "cached" or "built".
image_build() {
  local ref="$1" build="$2" key
  shift 2
  key="$(oci_key "$ref" "$(declare -f "$build" image_static_base)" "$lab_dir/lib/oci.sh" "$@")"
  if oci_cached "$ref" "$key"; then
    echo cached
    return
  fi
  oci_begin "$ref" "$key"
  "$build"
  oci_commit >/dev/null
  echo built
}

# images_list [release]: "REF FUNCTION [component]" per image, in build order; with "release",
# only those whose version comes with the Kubernetes release (kubeadm's, but for pause).
images_list() {
  local component
  for component in kube-apiserver kube-controller-manager kube-scheduler; do
    echo "registry.k8s.io/$component:$KUBERNETES_VERSION image_control_plane $component"
  done
  echo "registry.k8s.io/kube-proxy:$KUBERNETES_VERSION image_kube_proxy"
  echo "registry.k8s.io/etcd:${ETCD_IMAGE_VERSION#v}-$ETCD_IMAGE_REVISION image_etcd"
  echo "registry.k8s.io/coredns/coredns:$COREDNS_VERSION image_coredns"
  [[ "${1:-}" != release ]] || return 0
  echo "registry.k8s.io/pause:$PAUSE_VERSION image_pause"
  echo "docker.io/cloudnativelabs/kube-router:$KUBE_ROUTER_VERSION image_kube_router"
  echo "docker.io/library/busybox:$BUSYBOX_IMAGE_VERSION image_busybox"
  echo "docker.io/library/debian:$DEBIAN_IMAGE_VERSION image_debian"
}

# image_inputs FUNCTION [component]: the files an image is made of (for its cache key).
image_inputs() {
  case "$1" in
    image_control_plane) echo "$kube_bin/$2" "$go_runner_bin/go-runner" ;;
    image_kube_proxy) echo "$kube_bin/kube-proxy" "$go_runner_bin/go-runner" "$image_tree/var/lib/dpkg/status" ;;
    image_etcd) echo "$etcd_bin" "$image_tree/usr/bin/bash-static" ;;
    image_coredns) echo "$coredns_bin/coredns" ;;
    image_pause) echo "$pause_bin/pause" ;;
    image_busybox) echo "$image_tree/bin/busybox" ;;
    image_debian) echo "$DEBIAN_SUITE" "$DEBIAN_MIRROR" ;;
    image_kube_router)
      echo "$kube_router_bin" "$cni_bin" "$lab_dir/artifacts/image-files/cni-install" "$image_tree/var/lib/dpkg/status"
      ;;
  esac
  [[ "$1" == image_pause ]] || echo "$image_tree/etc/ssl/certs/ca-certificates.crt"
}
