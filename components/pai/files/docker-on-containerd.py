#!/usr/bin/env python3
"""The `docker` commands OpenPAI's job-exporter runs, answered from containerd and the cgroups.

job-exporter v1.8.0 collects per-task metrics by running the Docker CLI
(src/job-exporter/src/docker_stats.py, docker_inspect.py, collector.py): `docker info`,
`docker stats --no-stream --format "table {{.ID}},{{.Name}},{{.CPUPerc}},{{.MemUsage}},{{.NetIO}},
{{.BlockIO}},{{.MemPerc}}"`, `docker inspect ID` and `docker logs --tail N ID`. A containerd node has
no Docker, so this file is mounted as `docker` ahead of the image's own on its PATH, and the
exporter's code runs unchanged. It reads what containerd keeps for each running container of the
Kubernetes namespace (the OCI runtime spec, config.json: environment, annotations, cgroup path;
init.pid: the host process), the container's cgroup (cgroup v1 or v2) and the kubelet's log files.

Output is what job-exporter parses: sizes in plain bytes ("1234B"), which its convert_to_byte
reads; network I/O is 0B / 0B, as Docker reports for host-network containers (job-exporter measures
a task's traffic itself, with iftop and lsof on the task's processes).
Python 3.5+ standard library only.
"""
import glob
import json
import os
import sys
import time

TASKS = os.environ.get("CONTAINERD_TASKS", "/run/containerd/io.containerd.runtime.v2.task/k8s.io")
SOCKET = os.environ.get("CONTAINERD_SOCKET", "/run/containerd/containerd.sock")
CGROUPS = os.environ.get("HOST_CGROUPS", "/host/sys/fs/cgroup")
POD_LOGS = os.environ.get("POD_LOGS", "/var/log/pods")


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


class Container(object):
    """A running container of containerd's k8s.io namespace."""

    def __init__(self, task_dir):
        self.id = os.path.basename(task_dir)
        self.spec = json.loads(read(os.path.join(task_dir, "config.json")))
        self.pid = int(read(os.path.join(task_dir, "init.pid"), "0").strip() or 0)
        notes = self.spec.get("annotations", {})
        self.sandbox = notes.get("io.kubernetes.cri.container-type") == "sandbox"
        self.namespace = notes.get("io.kubernetes.cri.sandbox-namespace", "")
        self.pod = notes.get("io.kubernetes.cri.sandbox-name", "")
        self.pod_uid = notes.get("io.kubernetes.cri.sandbox-uid", "")
        self.container = "POD" if self.sandbox else notes.get("io.kubernetes.cri.container-name", "")
        # The kubelet's Docker-era name, which job-exporter matches its service names against.
        self.name = "k8s_%s_%s_%s_%s_0" % (self.container, self.pod, self.namespace, self.pod_uid)
        self.cgroup = cgroup_path(self.spec.get("linux", {}).get("cgroupsPath", ""))

    def env(self):
        return self.spec.get("process", {}).get("env", [])


def cgroup_path(cgroups_path):
    """The container's cgroup below the hierarchy's root: the systemd driver's
    "slice:prefix:name" (kubepods-burstable-podX.slice:cri-containerd:ID) or cgroupfs' path."""
    if ":" not in cgroups_path:
        return cgroups_path.strip("/")
    slice_name, prefix, name = cgroups_path.split(":", 2)
    parts = slice_name[:-len(".slice")].split("-") if slice_name.endswith(".slice") else []
    slices = ["-".join(parts[:i + 1]) + ".slice" for i in range(len(parts))]
    return "/".join(slices + ["%s-%s.scope" % (prefix, name)])


def containers():
    found = []
    for task_dir in sorted(glob.glob(os.path.join(TASKS, "*"))):
        try:
            found.append(Container(task_dir))
        except (OSError, ValueError, TypeError):
            continue  # a container that just stopped
    return found


def find(container_id):
    matches = [c for c in containers() if c.id.startswith(container_id)]
    if len(matches) != 1:
        sys.stderr.write("Error: No such container: %s\n" % container_id)
        sys.exit(1)
    return matches[0]


def unified():
    return os.path.exists(os.path.join(CGROUPS, "cgroup.controllers"))


def controller_dir(controllers, path):
    """The container's directory in the first v1 hierarchy of `controllers` that has it."""
    for controller in controllers:
        candidate = os.path.join(CGROUPS, controller, path)
        if os.path.isdir(candidate):
            return candidate
    return None


def keyed(text):
    values = {}
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit():
            values[fields[0]] = int(fields[1])
    return values


def cpu_ns(container):
    if unified():
        return keyed(read(os.path.join(CGROUPS, container.cgroup, "cpu.stat"))).get("usage_usec", 0) * 1000
    directory = controller_dir(["cpu,cpuacct", "cpuacct,cpu", "cpuacct"], container.cgroup)
    return int((read(os.path.join(directory, "cpuacct.usage"), "0") if directory else "0").strip() or 0)


def host_memory():
    for line in (read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def memory(container):
    """(usage, limit): usage without the inactive page cache, as docker stats computes it."""
    total = host_memory()
    if unified():
        directory = os.path.join(CGROUPS, container.cgroup)
        usage = int((read(os.path.join(directory, "memory.current"), "0")).strip() or 0)
        inactive = keyed(read(os.path.join(directory, "memory.stat"))).get("inactive_file", 0)
        limit = (read(os.path.join(directory, "memory.max"), "max") or "max").strip()
    else:
        directory = controller_dir(["memory"], container.cgroup) or ""
        usage = int((read(os.path.join(directory, "memory.usage_in_bytes"), "0")).strip() or 0)
        inactive = keyed(read(os.path.join(directory, "memory.stat"))).get("total_inactive_file", 0)
        limit = (read(os.path.join(directory, "memory.limit_in_bytes"), "max") or "max").strip()
    limit_bytes = int(limit) if limit.isdigit() else total
    return max(usage - inactive, 0), min(limit_bytes, total) if total else limit_bytes


def block_io(container):
    """(read, written) bytes of the container's block devices."""
    done = {"read": 0, "write": 0}
    if unified():
        names = {"rbytes": "read", "wbytes": "write"}
        for line in (read(os.path.join(CGROUPS, container.cgroup, "io.stat")) or "").splitlines():
            for field in line.split()[1:]:
                key, _, value = field.partition("=")
                if key in names and value.isdigit():
                    done[names[key]] += int(value)
    else:
        directory = controller_dir(["blkio"], container.cgroup) or ""
        for line in (read(os.path.join(directory, "blkio.throttle.io_service_bytes")) or "").splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[1] in ("Read", "Write") and fields[2].isdigit():
                done[fields[1].lower()] += int(fields[2])
    return done["read"], done["write"]


def stats():
    running = containers()
    before = dict((c.id, cpu_ns(c)) for c in running)
    started = time.time()
    time.sleep(1)
    elapsed = time.time() - started
    print("CONTAINER ID,NAME,CPU %,MEM USAGE / LIMIT,NET I/O,BLOCK I/O,MEM %")
    for c in running:
        if not os.path.isdir(os.path.join(TASKS, c.id)):
            continue
        cpu = max(cpu_ns(c) - before[c.id], 0) / 1e9 / elapsed * 100
        usage, limit = memory(c)
        read_bytes, written = block_io(c)
        print("%s,%s,%.2f%%,%dB / %dB,0B / 0B,%dB / %dB,%.2f%%" % (
            c.id[:12], c.name, cpu, usage, limit, read_bytes, written, usage * 100.0 / limit if limit else 0))


def inspect(ids):
    result = []
    for container_id in ids:
        c = find(container_id)
        result.append({
            "Id": c.id,
            "Name": "/" + c.name,
            "Config": {"Env": c.env(), "Labels": {}},
            "State": {"Status": "running", "Running": True, "Pid": c.pid},
        })
    print(json.dumps(result, indent=4))


def logs(args):
    tail = None
    if "--tail" in args:
        position = args.index("--tail")
        tail = args[position + 1]
        args = args[:position] + args[position + 2:]
    c = find(args[0])
    directory = os.path.join(POD_LOGS, "%s_%s_%s" % (c.namespace, c.pod, c.pod_uid), c.container)
    files = sorted(glob.glob(os.path.join(directory, "*.log")), key=lambda f: int(os.path.basename(f).split(".")[0] or 0))
    # CRI log lines: "<time> <stream> <P|F> <text>".
    lines = [line.split(" ", 3)[3] if line.count(" ") >= 3 else line for line in (read(files[-1], "") if files else "").splitlines()]
    if tail not in (None, "all"):
        lines = lines[-int(tail):] if int(tail) > 0 else []
    sys.stdout.write("".join(line + "\n" for line in lines))


def main(argv):
    command = argv[0] if argv else ""
    if command == "info":
        if not os.path.exists(SOCKET):
            sys.stderr.write("Cannot connect to containerd at %s\n" % SOCKET)
            sys.exit(1)
        print("Server: containerd (%d running containers), through OpenPAI's docker-on-containerd" % len(containers()))
    elif command == "stats":
        stats()
    elif command == "inspect":
        inspect([a for a in argv[1:] if not a.startswith("-")])
    elif command == "logs":
        logs(argv[1:])
    else:
        sys.stderr.write("docker-on-containerd: '%s' is not one of the commands job-exporter runs (info, stats, inspect, logs)\n" % command)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
