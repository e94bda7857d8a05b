#!/usr/bin/env bash
# Prints the cluster's admin kubeconfig (captured as a secret). Nothing else on stdout. When
# RENEW_EXPIRING_BY names a date (the program found the certificates due: cluster.
# certificateRenewalDays) and they still expire by then, renews them first the kubeadm way
# (`kubeadm certs renew all`: every leaf certificate and the kubeconfigs kubeadm made), restarts
# the control plane's static pods so they load them, and waits for the API server.
set -euo pipefail
RENEW_EXPIRING_BY="${RENEW_EXPIRING_BY:-}"
admin=/etc/kubernetes/admin.conf

# certificates_expire: when the admin kubeconfig's client certificate expires (seconds since the
# epoch); kubeadm makes and renews it with the others.
certificates_expire() {
  local not_after
  not_after="$(sed -n 's/^ *client-certificate-data: //p' "$admin" | head -n 1 | base64 -d | openssl x509 -noout -enddate)"
  date -d "${not_after#notAfter=}" +%s
}

# renew_certificates BEFORE: renews the certificates that expire at BEFORE (seconds since the epoch).
renew_certificates() {
  local before="$1" after pods deadline=$((SECONDS + 300))
  log "the certificates expire $(date -u -d "@$before" +%FT%TZ), by $RENEW_EXPIRING_BY: renewing them (cluster.certificateRenewalDays)" >&2
  run kubeadm certs renew all >&2
  check_only && return 0
  # The static pods keep the certificates they loaded: their containers are stopped, the kubelet
  # starts them again with the new files.
  pods="$(crictl --runtime-endpoint unix:///run/containerd/containerd.sock ps -q \
    --name '^(kube-apiserver|kube-controller-manager|kube-scheduler|etcd)$')"
  [[ -n "$pods" ]] || fail "no control-plane containers running to restart: crictl ps -a on the master"
  # shellcheck disable=SC2086 # one argument per container id
  crictl --runtime-endpoint unix:///run/containerd/containerd.sock stop $pods >/dev/null
  log "stopped the control plane's containers (kube-apiserver, kube-controller-manager, kube-scheduler, etcd): the kubelet starts them again" >&2
  until kubectl --kubeconfig "$admin" --request-timeout=5s get --raw=/readyz >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "the API server is not ready 5 minutes after the certificate renewal: crictl ps -a on the master; kubeadm certs check-expiration"
    sleep 3
  done
  after="$(certificates_expire)"
  changed "renewed the cluster's certificates: they expired $(date -u -d "@$before" +%FT%TZ), now $(date -u -d "@$after" +%FT%TZ)" >&2
}

if [[ ! -f "$admin" ]]; then
  log "no $admin (check-only or not initialized)" >&2
  exit 0
fi
if [[ -n "$RENEW_EXPIRING_BY" ]]; then
  expire="$(certificates_expire)"
  if ((expire <= $(date -d "$RENEW_EXPIRING_BY" +%s))); then
    renew_certificates "$expire"
  else
    log "the certificates expire $(date -u -d "@$expire" +%FT%TZ), after $RENEW_EXPIRING_BY: already renewed" >&2
  fi
fi
cat "$admin"
