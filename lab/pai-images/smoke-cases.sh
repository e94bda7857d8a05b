#!/usr/bin/env bash
# The smoke cases of smoke-test.sh: smoke_<image> BUNDLE runs the unpacked image in the sandbox,
# prints what it did, lines "evidence: ..." for what proves it started, and fails if that is
# missing. Scripts in single quotes run inside the namespaces (lib/sandbox.sh's helpers).
# shellcheck disable=SC2016 # the scripts expand inside the sandbox

# smoke_expect OUTPUT REGEX...: prints OUTPUT, then an evidence line per REGEX; fails on a miss.
smoke_expect() {
  local output="$1" regex line status=0
  shift
  printf '%s\n' "$output"
  for regex in "$@"; do
    line="$(grep -E -m1 -- "$regex" <<<"$output" || true)"
    if [[ -n "$line" ]]; then echo "evidence: $line"; else echo "missing: /$regex/"; status=1; fi
  done
  return "$status"
}

# A Go service that needs a cluster: it starts, reads its config and stops at the missing
# in-cluster Kubernetes credentials.
smoke_hivedscheduler() {
  smoke_expect "$(sandbox_run "$1" 60 'in_image' 2>&1 || true)" \
    'hivedscheduler.yaml|Initializing|[Cc]onfig' 'KUBERNETES_SERVICE_HOST|in.cluster|kubeconfig|Failed to build'
}

smoke_frameworkcontroller() {
  smoke_expect "$(sandbox_run "$1" 60 'in_image' 2>&1 || true)" \
    'frameworkcontroller.yaml|Initializing|[Cc]onfig' 'KUBERNETES_SERVICE_HOST|in.cluster|kubeconfig|Failed to build'
}

smoke_watchdog() {
  smoke_expect "$(sandbox_run "$1" 60 'in_image_run ./watchdog -port 9101' 2>&1 || true)" \
    'KUBERNETES_SERVICE_HOST|in.cluster|kube|config'
}

# rest-server: `npm start` -> node index.js loads its modules and stops at its config: first the
# group file (/group-configuration/group.yaml, audit B7), then, given one and the device env, at
# joi's check of the launcher settings (HIVED_WEBSERVICE_URI left out).
smoke_rest_server() {
  smoke_expect "$(sandbox_run "$1" 120 '
    IMAGE_ENV=(LAUNCHER_TYPE=k8s JWT_SECRET=smoke-secret DEFAULT_PAI_ADMIN_USERNAME=admin DEFAULT_PAI_ADMIN_PASSWORD=smoke-pass)
    in_image_run node --version
    in_image & sleep 20; kill %1 2>/dev/null || true; wait || true
    mkdir -p "$rootfs/group-configuration"
    printf "%s\n" "groupDataSource: basic" "adminGroup: {groupname: admingroup, description: admin, externalName: \"\", extension: {acls: {admin: true}}}" \
      "defaultGroup: {groupname: default, description: default, externalName: \"\", extension: {acls: {virtualClusters: [default]}}}" \
      "grouplist: []" >"$rootfs/group-configuration/group.yaml"
    echo "--- with a group.yaml:"
    IMAGE_ENV+=(HIVED_COMPUTING_DEVICE_ENVS=NVIDIA_VISIBLE_DEVICES,HIVED_VISIBLE_DEVICES LAUNCHER_SCHEDULER=hivedscheduler)
    in_image & sleep 30; kill %1 2>/dev/null || true; wait || true' 2>&1 || true)" \
    '^v10\.24\.1' 'pai-rest-server@1\.8\.0 start' 'group.yaml' 'ValidationError.*is required'
}

# database-controller: the write-merger (one of its four programs) validates its env with joi.
smoke_database_controller() {
  smoke_expect "$(sandbox_run "$1" 90 '
    in_image_run node --version
    in_image_run node -e "console.log(require(\"./package.json\").paiVersion)"
    in_image_run node write-merger/index.js' 2>&1 || true)" \
    '^v8\.17\.0' '^v1\.8\.0' 'ValidationError|is required'
}

smoke_alert_handler() {
  smoke_expect "$(sandbox_run "$1" 60 'in_image' 2>&1 || true)" \
    'pai-alert-handler@0\.0\.0 start|node index.js' 'ValidationError|is required|listening|Error'
}

# postgres: the official image's env contract and `-N 1000`; a password login over TCP works, a
# wrong password does not. initdb trusts 127.0.0.1 by default (as in the official image, where a
# client in the same container needs no password): POSTGRES_INITDB_ARGS makes it ask here too.
smoke_postgres() {
  smoke_expect "$(sandbox_run "$1" 120 '
    IMAGE_ENV=(POSTGRES_USER=root POSTGRES_DB=openpai POSTGRES_PASSWORD=smoke-pass PGDATA=/var/lib/postgresql/data/pgdata
      POSTGRES_INITDB_ARGS=--auth-host=scram-sha-256)
    in_image_run docker-entrypoint.sh -N 1000 -c port=5432 &
    for _ in $(seq 90); do in_image_run pg_isready -q -h 127.0.0.1 -p 5432 -U root -d openpai && break; sleep 1; done
    base_env=("${IMAGE_ENV[@]}")
    IMAGE_ENV=("${base_env[@]}" PGPASSWORD=smoke-pass)
    in_image_run psql -h 127.0.0.1 -U root -d openpai -Atc "select concat_ws(chr(32), current_user, chr(64), current_database()); show max_connections; select version();"
    IMAGE_ENV=("${base_env[@]}" PGPASSWORD=wrong)
    in_image_run psql -h 127.0.0.1 -U root -d openpai -c "select 1" || echo "wrong password refused"
    kill -INT %1; wait' 2>&1 || true)" \
    'PostgreSQL init process complete' 'root @ openpai' '^1000$' 'PostgreSQL 15' 'password authentication failed' 'wrong password refused'
}

# openpai-runtime: the init container's command runs the Python init, which stops at the job's
# missing Framework/pod environment; its Python libraries import.
smoke_openpai_runtime() {
  smoke_expect "$(sandbox_run "$1" 90 '
    in_image_run python -c "import kubernetes, yaml, requests, jinja2, pystache, git, backoff; print(\"runtime python imports ok\")"
    in_image_run ls init.d runtime.d
    in_image_run ./runtime.d/multilog < /dev/null; echo "multilog exit $?"
    IMAGE_ENV=(FC_POD_UID=smoke-pod)
    in_image' 2>&1 || true)" \
    'runtime python imports ok' 'frameworkbarrier' 'exithandler' 'unbound variable|Traceback|Error'
}

smoke_nginx() {
  smoke_expect "$(sandbox_run "$1" 60 '
    in_image &
    for _ in $(seq 30); do curl -fs http://127.0.0.1/ >/dev/null && break; sleep 1; done
    curl -s http://127.0.0.1/ | grep -o "<title>[^<]*</title>"
    kill %1; wait' 2>&1 || true)" \
    'Configuration complete; ready for start up' '<title>Welcome to nginx!</title>'
}

# webportal: `npm start` renders env.js from the env and serves the webpack build on 8080.
smoke_webportal() {
  smoke_expect "$(sandbox_run "$1" 120 '
    IMAGE_ENV=(REST_SERVER_URI=http://127.0.0.1/rest-server PROMETHEUS_URI=http://127.0.0.1 AUTHN_METHOD=basic LAUNCHER_TYPE=k8s LAUNCHER_SCHEDULER=hivedscheduler)
    in_image &
    for _ in $(seq 90); do curl -fs http://127.0.0.1:8080/ >/dev/null && break; sleep 1; done
    curl -s http://127.0.0.1:8080/ | grep -o "<title>[^<]*</title>"
    curl -s http://127.0.0.1:8080/env.js | grep -o "restServerUri: [^,]*"
    in_image_run sh -c "ls dist | wc -l; du -sh dist"
    kill %1; wait' 2>&1 || true)" \
    '<title>' 'restServerUri: .http://127.0.0.1/rest-server.'
}

# log-manager-nginx: health check, a JWT from /api/v1/tokens (lua-resty-jwt), and a log listing
# with it (lfs, lua-path, cjson).
smoke_log_manager_nginx() {
  smoke_expect "$(sandbox_run "$1" 60 '
    mkdir -p "$rootfs/usr/local/pai/logs/alice/job1/worker/pod1/user-all"
    echo hello >"$rootfs/usr/local/pai/logs/alice/job1/worker/pod1/user-all/current"
    IMAGE_ENV=(ADMIN_NAME=admin ADMIN_PASSWORD=smoke-pass JWT_SECRET=smoke-secret TOKEN_EXPIRED_SECOND=3600 NODE_NAME=node1)
    in_image &
    for _ in $(seq 30); do curl -fs http://127.0.0.1/healthz >/dev/null && break; sleep 1; done
    curl -s http://127.0.0.1/healthz; echo
    token="$(curl -s -X POST -d "{\"username\":\"admin\",\"password\":\"smoke-pass\"}" http://127.0.0.1/api/v1/tokens | sed -n "s/.*\"token\":\"\([^\"]*\)\".*/\1/p")"
    echo "token: ${token:0:20}..."
    curl -s "http://127.0.0.1/api/v1/logs?username=alice&framework-name=job1&taskrole=worker&pod-uid=pod1&token=$token"; echo
    echo "wrong password: $(curl -s -o /dev/null -w "%{http_code}" -X POST -d "{\"username\":\"admin\",\"password\":\"x\"}" http://127.0.0.1/api/v1/tokens)"
    kill %1; wait' 2>&1 || true)" \
    'Log manager ready' 'token: eyJ' '"all":.*user-all' 'wrong password: 401'
}

smoke_log_manager_cleaner() {
  smoke_expect "$(sandbox_run "$1" 30 '
    in_image &
    sleep 5
    in_image_as_root cat /etc/periodic/daily/remove_logs
    in_image_as_root ps -eo pid,args
    kill %1; wait' 2>&1 || true)" \
    'cron job added' 'find /usr/local/pai/logs' 'crond -f -l 0'
}

# internal-storage-create: a 1 GiB ext4 file, loop-mounted with quotas, READY marker (privileged).
smoke_internal_storage_create() {
  smoke_expect "$(sandbox_run "$1" 120 '
    mkdir -p "$rootfs/paiInternal"
    mount -t tmpfs -o size=1200m paiinternal "$rootfs/paiInternal"
    IMAGE_ENV=(QUOTA_GB=1)
    in_image &
    for _ in $(seq 60); do [[ -f "$rootfs/paiInternal/storage/READY" ]] && break; sleep 1; done
    ls -la "$rootfs/paiInternal" "$rootfs/paiInternal/storage"
    findmnt -no SOURCE,FSTYPE,OPTIONS "$rootfs/paiInternal/storage"
    kill %1; wait || true
    umount "$rootfs/paiInternal/storage"; umount "$rootfs/paiInternal"' 2>&1 || true)" \
    'Creating storage.ext4 of 1G' 'READY' 'ext4 .*usrquota'
}

smoke_generic_device_plugin() {
  smoke_expect "$(sandbox_run "$1" 30 '
    in_image_run /generic-device-plugin --help 2>&1 | head -n 12
    in_image_run /generic-device-plugin --domain github.com --device "{\"name\": \"fuse\", \"groups\": [{\"count\": 110, \"paths\": [{\"path\": \"/dev/fuse\"}]}]}" &
    sleep 8; kill %1; wait' 2>&1 || true)" \
    '--device' 'kubelet|device-plugins|listening|Starting|plugin'
}

smoke_job_exporter() {
  smoke_expect "$(sandbox_run "$1" 60 '
    in_image_run python /job_exporter/main.py --help | head -n 5
    IMAGE_ENV=(NV_DRIVER=/var/drivers/nvidia/current NODE_NAME=node1 HOST_IP=127.0.0.1 LOGGING_LEVEL=INFO)
    in_image_run python /job_exporter/main.py --port 9102 --interface lo --log /tmp &
    for _ in $(seq 30); do curl -fs http://127.0.0.1:9102/metrics >/dev/null && break; sleep 1; done
    curl -s http://127.0.0.1:9102/metrics | grep -E "^(python_info|process_start_time_seconds)" | head -n 3
    kill %1; wait' 2>&1 || true)" \
    'usage: main.py' 'python_info.*3\.11'
}

smoke_prometheus() {
  smoke_expect "$(sandbox_run "$1" 60 '
    in_image &
    for _ in $(seq 30); do curl -fs http://127.0.0.1:9090/-/ready >/dev/null && break; sleep 1; done
    curl -s http://127.0.0.1:9090/-/ready; echo
    curl -s "http://127.0.0.1:9090/api/v1/status/buildinfo"; echo
    kill %1; wait' 2>&1 || true)" \
    'Server is Ready' '"version":"2\.'
}

# The gossip cluster needs a non-loopback address (a pod has one; the sandbox has only lo).
smoke_alertmanager() {
  smoke_expect "$(sandbox_run "$1" 60 '
    in_image_run /bin/alertmanager --config.file=/etc/alertmanager/alertmanager.yml --storage.path=/alertmanager --cluster.listen-address= &
    for _ in $(seq 30); do curl -fs http://127.0.0.1:9093/-/ready >/dev/null && break; sleep 1; done
    curl -s http://127.0.0.1:9093/-/ready; echo
    curl -s http://127.0.0.1:9093/api/v2/status | grep -o "\"version\":\"[^\"]*\""
    kill %1; wait' 2>&1 || true)" \
    'OK' '"version":"0\.'
}

smoke_node_exporter() {
  smoke_expect "$(sandbox_run "$1" 60 '
    in_image &
    for _ in $(seq 30); do curl -fs http://127.0.0.1:9100/metrics >/dev/null && break; sleep 1; done
    curl -s http://127.0.0.1:9100/metrics | grep -E "^node_exporter_build_info"
    kill %1; wait' 2>&1 || true)" \
    'node_exporter_build_info.*version="1\.'
}
