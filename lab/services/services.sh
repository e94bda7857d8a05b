#!/usr/bin/env bash
# The lab's services on the bridge address, what a lab behind a firewall runs for its machines:
#   registry   OCI registry (Debian docker-registry), plain HTTP     10.78.0.1:5000
#   apt-repo   the local apt repository directory over HTTP           10.78.0.1:8080
#   apt-proxy  apt-cacher-ng, the only way out to Debian's mirror     10.78.0.1:3142
#   dns        dnsmasq: the lab's hosts by name, nothing outside      10.78.0.1:53
# Each runs in the background with its pid, config and log in $lab_state/services/NAME; what
# they store (pushed images, the repository, cached packages) lives in $lab_cache so it
# survives `down`. Source it after lib/common.sh and services/machine.sh.
# shellcheck disable=SC2154 # lab_state, lab_cache come from common.sh; lab_bridge_address from machine.sh

lab_services=(registry apt-repo apt-proxy dns)
lab_registry_port=5000
lab_apt_repo_port=8080
lab_apt_proxy_port=3142
# Debian's python3, not whatever python3 comes first on PATH (a pyenv shim, a virtualenv).
lab_python=/usr/bin/python3

lab_service_dir() { echo "$lab_state/services/$1"; }

# lab_pid_alive PID: the process exists and is not a zombie waiting for init to reap it.
lab_pid_alive() {
  [[ -r "/proc/$1/stat" ]] && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# lab_service_pid NAME: prints the pid of NAME when it runs (the recorded pid is alive and still
# runs the recorded program), fails otherwise.
lab_service_pid() {
  local dir pid
  dir="$(lab_service_dir "$1")"
  [[ -f "$dir/pid" ]] || return 1
  pid="$(cat "$dir/pid")"
  lab_pid_alive "$pid" || return 1
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(cat "$dir/exe" 2>/dev/null)" ]] || return 1
  echo "$pid"
}

# lab_answers URL: for http:// any HTTP answer counts (the proxy answers its root with an error
# page); for tcp://HOST:PORT an accepted connection.
lab_answers() {
  local code hostport
  if [[ "$1" == tcp://* ]]; then
    hostport="${1#tcp://}"
    timeout 2 bash -c "exec 3<>/dev/tcp/${hostport%:*}/${hostport##*:}" 2>/dev/null
    return
  fi
  code="$(curl --noproxy '*' -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true)"
  [[ -n "$code" && "$code" != 000 ]]
}

# lab_service_start NAME URL COMMAND...: starts COMMAND in the background unless NAME runs,
# then waits until URL answers.
lab_service_start() {
  local name="$1" url="$2" dir pid tries=100
  shift 2
  dir="$(lab_service_dir "$name")"
  if pid="$(lab_service_pid "$name")"; then
    lab_log "$name already runs (pid $pid, $url)"
    return
  fi
  mkdir -p "$dir"
  # setsid: its own session, so it outlives the shell that ran `up`.
  setsid "$@" >>"$dir/log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$dir/pid"
  until lab_answers "$url"; do
    lab_pid_alive "$pid" || lab_die "$name exited at start: $(tail -n 5 "$dir/log")"
    tries=$((tries - 1))
    ((tries > 0)) || lab_die "$name does not answer on $url after 20 s: $(tail -n 5 "$dir/log")"
    sleep 0.2
  done
  # What the pid runs, so a later pid reuse is not taken for the service.
  readlink "/proc/$pid/exe" >"$dir/exe"
  lab_changed "started $name (pid $pid) on $url, log $dir/log"
}

lab_service_stop() {
  local name="$1" dir pid tries=50
  dir="$(lab_service_dir "$name")"
  if pid="$(lab_service_pid "$name")"; then
    kill "$pid"
    while lab_pid_alive "$pid"; do
      tries=$((tries - 1))
      if ((tries == 0)); then kill -KILL "$pid"; fi
      sleep 0.2
    done
    lab_changed "stopped $name (pid $pid)"
  fi
  rm -f "$dir/pid"
}

lab_registry_start() {
  local dir
  dir="$(lab_service_dir registry)"
  mkdir -p "$dir" "$lab_cache/registry"
  # Pushed images stay in the cache: a warm `up` serves them without pushing again.
  cat >"$dir/config.yml" <<CONFIG
version: 0.1
log:
  level: info
  fields:
    service: openpai-lab-registry
storage:
  filesystem:
    rootdirectory: $lab_cache/registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $lab_bridge_address:$lab_registry_port
  headers:
    X-Content-Type-Options: [nosniff]
CONFIG
  lab_service_start registry "http://$lab_bridge_address:$lab_registry_port/v2/" \
    docker-registry serve "$dir/config.yml"
}

lab_apt_repo_start() {
  if [[ ! -d "$lab_cache/apt-repo" ]]; then
    mkdir -p "$lab_cache/apt-repo"
    lab_changed "created $lab_cache/apt-repo (empty until the apt repository is built)"
  fi
  lab_service_start apt-repo "http://$lab_bridge_address:$lab_apt_repo_port/" \
    "$lab_python" -m http.server "$lab_apt_repo_port" --bind "$lab_bridge_address" --directory "$lab_cache/apt-repo"
}

lab_apt_proxy_start() {
  local dir
  dir="$(lab_service_dir apt-proxy)"
  mkdir -p "$dir/conf" "$lab_cache/apt-cacher-ng"
  # Its own config directory: the machine's /etc/apt-cacher-ng and any running system
  # apt-cacher-ng stay untouched. No remapping: files are cached by host and path, so the
  # hosts' plain deb.debian.org sources work and warm runs download no package twice.
  cat >"$dir/conf/acng.conf" <<CONFIG
CacheDir: $lab_cache/apt-cacher-ng
LogDir: $dir
SupportDir: /usr/lib/apt-cacher-ng
BindAddress: $lab_bridge_address
Port: $lab_apt_proxy_port
SocketPath: $dir/socket
PidFile: $dir/acng.pid
ForeGround: 1
ReportPage: acng-report.html
ExThreshold: 4
CONFIG
  lab_service_start apt-proxy "http://$lab_bridge_address:$lab_apt_proxy_port/acng-report.html" \
    apt-cacher-ng -c "$dir/conf"
}

# A real lab has a resolver: CoreDNS forwards to the nameserver in the hosts' resolv.conf and
# refuses to start without one. The lab's answers its hosts' names, and at once NXDOMAIN for
# the rest of the world (nothing is forwarded).
lab_dns_start() {
  local dir
  dir="$(lab_service_dir dns)"
  mkdir -p "$dir"
  touch "$dir/hosts"
  lab_service_start dns "tcp://$lab_bridge_address:53" \
    dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --addn-hosts="$dir/hosts" \
    --listen-address="$lab_bridge_address" --bind-interfaces --port=53 --pid-file="$dir/dnsmasq.pid" --log-facility=-
}

# lab_dns_add NAME ADDRESS: the lab's DNS answers NAME with ADDRESS from now on.
lab_dns_add() {
  local file pid
  file="$(lab_service_dir dns)/hosts"
  [[ -f "$file" ]] || return 0
  if ! grep -qx "$2 $1" "$file"; then
    sed -i "/ $1\$/d" "$file"
    echo "$2 $1" >>"$file"
    pid="$(lab_service_pid dns)" && kill -HUP "$pid"
    lab_changed "DNS: $1 is $2"
  fi
}

lab_services_up() {
  local tool
  for tool in docker-registry apt-cacher-ng "$lab_python" curl dnsmasq; do
    command -v "$tool" >/dev/null || lab_die "$tool is missing (Debian packages docker-registry, apt-cacher-ng, python3, curl, dnsmasq-base)"
  done
  lab_registry_start
  lab_apt_repo_start
  lab_apt_proxy_start
  lab_dns_start
}

lab_services_down() {
  local name
  for name in "${lab_services[@]}"; do
    lab_service_stop "$name"
  done
}

lab_services_status() {
  local name pid state
  for name in "${lab_services[@]}"; do
    state=stopped
    pid="$(lab_service_pid "$name")" && state="running (pid $pid)"
    printf '%-12s %s\n' "$name" "$state"
  done
}

# Pushes what other parts of the lab built (images, artifacts) into the registry, when those
# parts exist: each publish.sh takes the registry address and is idempotent.
lab_publish() {
  local script
  for script in "$lab_dir/artifacts/publish.sh" "$lab_dir/pai-images/publish.sh"; do
    [[ -f "$script" ]] || continue
    lab_log "running ${script#"$lab_dir"/} $lab_bridge_address:$lab_registry_port"
    bash "$script" "$lab_bridge_address:$lab_registry_port" 9>&- || lab_die "${script#"$lab_dir"/} failed"
  done
}
