#!/usr/bin/env bash
# An NFS server on the bridge address, the file server a lab's team storage lives on (OpenPAI's
# storage guide: an NFS export, nfs-common on the workers). NFS-Ganesha, a user-space server
# (NFSv3 and v4, Debian's nfs-ganesha and nfs-ganesha-vfs), exports $lab_state/nfs/export as
# /team on 10.78.0.1:2049 (mount protocol on :20048), with rpcbind for NFSv3's registrations; a
# kernel NFS server needs the nfsd filesystem, which kernels like this machine's lack.
# Source it after services/services.sh.
# shellcheck disable=SC2154 # lab_state comes from common.sh; lab_bridge_address from machine.sh

lab_nfs_dir() { echo "$lab_state/nfs"; }
lab_nfs_port=2049
lab_nfs_mountd_port=20048
# The export's pseudo path for NFSv4 clients (NFSv3 clients mount the directory's own path).
lab_nfs_pseudo=/team

# lab_nfs_up: exports the directory (made once, writable by anyone: jobs write as their own users)
# and prints "ADDRESS PATH PSEUDO": the server, the path NFSv3 mounts, the path NFSv4 mounts.
lab_nfs_up() {
  local dir exported tool
  for tool in ganesha.nfsd rpcbind; do
    PATH="$PATH:/usr/sbin" command -v "$tool" >/dev/null || lab_die "$tool is missing (Debian packages nfs-ganesha, nfs-ganesha-vfs, rpcbind)"
  done
  dir="$(lab_nfs_dir)"
  exported="$dir/export"
  if [[ ! -d "$exported" ]]; then
    mkdir -p "$exported" "$dir/recovery"
    chmod 1777 "$exported"
    lab_changed "created the export $exported"
  fi
  cat >"$dir/ganesha.conf" <<CONFIG
NFS_CORE_PARAM {
  Bind_addr = $lab_bridge_address;
  Protocols = 3, 4;
  NFS_Port = $lab_nfs_port;
  MNT_Port = $lab_nfs_mountd_port;
  Enable_NLM = false;
  Enable_RQUOTA = false;
}
NFSV4 {
  RecoveryBackend = fs;
  RecoveryRoot = $dir/recovery;
  Grace_Period = 10;
  Lease_Lifetime = 10;
}
EXPORT {
  Export_Id = 78;
  Path = $exported;
  Pseudo = $lab_nfs_pseudo;
  Access_Type = RW;
  Squash = No_Root_Squash;
  Protocols = 3, 4;
  Transports = TCP;
  SecType = sys;
  CLIENT { Clients = 10.78.0.0/16; Access_Type = RW; }
  FSAL { Name = VFS; }
}
CONFIG
  lab_service_start rpcbind "tcp://$lab_bridge_address:111" rpcbind -f
  lab_service_start nfs "tcp://$lab_bridge_address:$lab_nfs_port" \
    ganesha.nfsd -F -f "$dir/ganesha.conf" -L "$(lab_service_dir nfs)/ganesha.log" -p "$(lab_service_dir nfs)/ganesha.pid"
  echo "$lab_bridge_address $exported $lab_nfs_pseudo"
}

# lab_nfs_down: stops the server and rpcbind (the exported files stay until `down`).
lab_nfs_down() {
  lab_service_stop nfs
  lab_service_stop rpcbind
}
