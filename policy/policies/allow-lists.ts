/**
 * The host access and the network exposure the policy pack allows, and why: the data behind the
 * host-access-allowlist and network-exposure-authenticated policies (their config can replace
 * either list). Workloads and Services are named `<namespace>/<name>`; the PAI services run in
 * `default` (OpenPAI's namespace), the device plugins, the pod network and the host guard in
 * `kube-system`.
 */

/** Host namespaces a pod may share with its node. */
export type HostNamespace = "hostNetwork" | "hostPID" | "hostIPC";

/** What one workload (or one of its containers) may have of its node, and why. */
export interface HostAccess {
    /** `<namespace>/<name>` of the DaemonSet, Deployment, StatefulSet, Job, CronJob or Pod. */
    workload: string;
    /** The container the privileged/capabilities/hostPorts fields are for; every container when absent. */
    container?: string;
    /** May run privileged. */
    privileged?: boolean;
    /** Linux capabilities it may add. */
    capabilities?: string[];
    /** Host namespaces the pod may share. */
    hostNamespaces?: HostNamespace[];
    /** Host directories the pod may mount (hostPath volumes), exactly as written. */
    hostPaths?: string[];
    /** Ports it may answer on the node's addresses: hostPorts, or any port of a host-network pod. */
    hostPorts?: number[];
    /** Why it needs all this. */
    reason: string;
}

export const hostAccessAllowList: HostAccess[] = [
    { workload: "default/pylon", hostPorts: [80, 443], reason: "the portal entry: the one address and ports users reach (80 redirects to HTTPS on 443)" },
    { workload: "default/rest-server", hostPorts: [9186], reason: "OpenPAI's REST API at the master's address, where pylon and the marketplace reach it" },
    { workload: "default/webportal", hostPorts: [9286], reason: "the portal's pages at the master's address, where pylon reaches them" },
    { workload: "default/grafana", hostPorts: [3000], reason: "the dashboards at the master's address, where pylon reaches them (/grafana/)" },
    {
        workload: "default/log-manager", hostPorts: [9103], hostPaths: ["/var/log/pai"],
        reason: "serves and cleans the job logs each node keeps in /var/log/pai; rest-server reaches each node's log-manager at the node's address",
    },
    {
        workload: "default/postgresql", hostNamespaces: ["hostNetwork"], hostPorts: [5432], hostPaths: ["/mnt/paiInternal/storage", "/var/lib/openpai/restore/database"],
        reason: "OpenPAI's database at the master's address (rest-server, database-controller); its data stays on the master's disk, and a restored backup's dump waits for its first start in the restore directory (openpai restore)",
    },
    {
        workload: "default/database-controller", hostNamespaces: ["hostNetwork"], hostPorts: [9748], hostPaths: ["/mnt/paiInternal/storage"],
        reason: "the write-merger at the master's address (rest-server, the poller and the watchers call it); the event watcher reads the database disk's usage",
    },
    {
        workload: "default/prometheus", hostNamespaces: ["hostNetwork"], hostPorts: [9091], hostPaths: ["/datastorage/prometheus/data"],
        reason: "scrapes every node's exporters at their addresses; keeps the metrics on the master's disk",
    },
    { workload: "default/alertmanager", hostNamespaces: ["hostNetwork"], hostPorts: [9093], reason: "rest-server and Prometheus reach it at the master's address" },
    { workload: "default/watchdog", hostNamespaces: ["hostNetwork"], hostPorts: [9101], reason: "cluster health metrics, scraped by Prometheus at the master's address" },
    {
        workload: "default/node-exporter", hostNamespaces: ["hostNetwork", "hostPID"], hostPorts: [9100], hostPaths: ["/", "/var/lib/openpai/metrics"],
        reason: "host metrics: the node's filesystems, processes and network interfaces (/ read-only at /host); /var/lib/openpai/metrics holds the certificate check's series (textfile collector, read-only)",
    },
    {
        workload: "default/job-exporter", hostNamespaces: ["hostNetwork", "hostPID"], hostPorts: [9102], hostPaths: ["/dev", "/run/containerd", "/sys/fs/cgroup", "/var/log/pods"],
        reason: "per-job and GPU metrics: the node's processes, network interfaces and GPU devices; containerd's task directories, the cgroups and the pods' logs (read-only) stand in for the Docker CLI its collectors run",
    },
    {
        workload: "default/certificate-expiry",
        hostPaths: ["/var/lib/openpai/metrics", ...["apiserver.crt", "apiserver-kubelet-client.crt", "apiserver-etcd-client.crt", "front-proxy-client.crt",
            "etcd/server.crt", "etcd/peer.crt", "etcd/healthcheck-client.crt", "ca.crt", "front-proxy-ca.crt", "etcd/ca.crt"].map(file => `/etc/kubernetes/pki/${file}`)],
        reason: "reads when kubeadm's certificates on the master expire (each certificate file alone, read-only: not the keys beside them) and writes the times for node-exporter's textfile collector",
    },
    { workload: "default/job-exporter", container: "job-exporter", privileged: true, reason: "reads the GPUs (nvidia-smi) and the jobs' processes of the node" },
    {
        workload: "default/marketplace-db", hostNamespaces: ["hostNetwork"], hostPorts: [9291], hostPaths: ["/mnt/marketplace"],
        reason: "the optional marketplace's database at the master's address, its data on the master's disk (src/marketplace-db/deploy)",
    },
    { workload: "default/marketplace-restserver", hostNamespaces: ["hostNetwork"], hostPorts: [9292], reason: "the optional marketplace's API at the master's address, where pylon reaches it" },
    { workload: "default/marketplace-webportal", hostNamespaces: ["hostNetwork"], hostPorts: [9293], reason: "the optional marketplace's pages at the master's address, where pylon reaches them" },
    {
        workload: "kube-system/nvidia-device-plugin", hostPaths: ["/var/lib/kubelet/device-plugins"],
        reason: "registers nvidia.com/gpu with the kubelet through the device-plugin socket directory",
    },
    {
        workload: "kube-system/fuse-device-plugin", container: "fuse-device-plugin", privileged: true, hostPaths: ["/var/lib/kubelet/device-plugins", "/dev"],
        reason: "hands /dev/fuse to every job as github.com/fuse, registered through the kubelet's device-plugin socket directory",
    },
    {
        workload: "kube-system/kube-router", hostNamespaces: ["hostNetwork", "hostPID"], hostPaths: ["/lib/modules", "/etc/cni/net.d", "/run/xtables.lock", "/opt"],
        reason: "the pod network (kubeadm mode): installs the CNI config and plugins, routes between the nodes",
    },
    { workload: "kube-system/kube-router", container: "kube-router", privileged: true, reason: "programs the node's routes, iptables and IPVS" },
    {
        workload: "kube-system/host-guard", hostNamespaces: ["hostNetwork"], capabilities: ["NET_ADMIN"],
        reason: "the host firewall: puts its nftables table into every node's network namespace",
    },
];

/** The host guard: a firewall on every node that admits only the master and PAI's pods to PAI's internal ports. */
export const hostGuard = "kube-system/host-guard";

/** Ports a workload answers on the nodes' addresses, or a Service publishes outside the cluster, and who may use them. */
export interface NetworkExposure {
    /** `<namespace>/<name>` of the workload (its hostPorts, or its ports on the host network) or of the Service. */
    target: string;
    ports: number[];
    /** How a caller on the network is authenticated there, or why nothing needs protecting. */
    authentication: string;
    /** A workload (`<namespace>/<name>`) that keeps unauthenticated callers away; the exposure is refused without it in the stack. */
    guardedBy?: string;
}

export const networkExposure: NetworkExposure[] = [
    {
        target: "default/pylon", ports: [80, 443],
        authentication: "80 only redirects to HTTPS; behind 443 rest-server checks a user's token on every call but the login, Prometheus' query API needs a user's login and the rest of Prometheus and Alertmanager an admin's (pylon asks rest-server), Grafana has its own login",
    },
    { target: "default/rest-server", ports: [9186], authentication: "rest-server checks a user's token on every call but the login and its version info; the host guard keeps it to pylon, so its per-client rate limit sees pylon's X-Forwarded-For", guardedBy: hostGuard },
    { target: "default/webportal", ports: [9286], authentication: "nothing to protect: the portal's static pages, whose calls carry the user's token to rest-server" },
    { target: "default/grafana", ports: [3000], authentication: "its own login: the generated admin password, no anonymous viewers, no sign-up", guardedBy: hostGuard },
    { target: "default/log-manager", ports: [9103], authentication: "a token from log-manager's generated admin login, which only rest-server holds" },
    { target: "default/postgresql", ports: [5432], authentication: "the generated database password (Secret pai-database)" },
    { target: "default/database-controller", ports: [9748], authentication: "none of its own: the write-merger takes any request", guardedBy: hostGuard },
    { target: "default/prometheus", ports: [9091], authentication: "none of its own (pylon's route asks for an admin login)", guardedBy: hostGuard },
    { target: "default/alertmanager", ports: [9093], authentication: "none of its own (pylon's route asks for an admin login)", guardedBy: hostGuard },
    { target: "default/watchdog", ports: [9101], authentication: "none: metrics for Prometheus on the master", guardedBy: hostGuard },
    { target: "default/node-exporter", ports: [9100], authentication: "none: metrics for Prometheus on the master", guardedBy: hostGuard },
    { target: "default/job-exporter", ports: [9102], authentication: "none: metrics for Prometheus on the master", guardedBy: hostGuard },
    { target: "default/marketplace-db", ports: [9291], authentication: "the generated database password (Secret marketplace-database)" },
    { target: "default/marketplace-restserver", ports: [9292], authentication: "checks a user's token with rest-server on every call" },
    { target: "default/marketplace-webportal", ports: [9293], authentication: "nothing to protect: the marketplace's static pages" },
];
