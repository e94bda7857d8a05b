import { workerDaemons } from "../../../config";
import { PaiContext } from "../context";
import { configMap, container, daemonRequests, daemonSet, K8sObject, sha256Annotation } from "../objects";
import { writeMergerPort } from "./database";
import { logManagerPort } from "./log-manager";
import { marketplacePorts } from "./marketplace";
import { alertManagerPort, grafanaPort, jobExporterPort, nodeExporterPort, prometheusPort, watchdogPort } from "./monitoring";
import { postgresPort } from "./postgresql";
import { restServerPort, webportalPort } from "./rest-server";

/** The nftables table the guard owns on every node. */
export const hostGuardTable = "openpai_guard";

/** kube-proxy's health endpoint (healthzBindAddress, all addresses by default). */
const kubeProxyHealthPort = 10256;
/** kube-router's health endpoint (--health-port). */
const kubeRouterHealthPort = 20244;
/** kube-router's GoBGP gRPC API (--gobgp-admin-port): it changes the node's routes, unauthenticated. */
const kubeRouterGobgpPort = 50051;
/**
 * rpcbind, which nfs-common brings for NFSv3's lock daemon (the kubeadm hosts' kernel step installs
 * it for team storage): it answers anyone, on TCP and UDP, on every address.
 */
const rpcbindPort = 111;

/**
 * TCP ports of the node's own addresses that PAI's internal services answer on, by where they
 * run: master-only services, and those on every node. None of them authenticates its callers
 * (write-merger turns requests into Frameworks; PostgreSQL has a password; the exporters,
 * Prometheus and Alertmanager none), so only the master and PAI's own pods may reach them.
 */
export function guardedPorts(ctx: PaiContext): { master: number[]; everyNode: number[] } {
    const s = ctx.services;
    const master = [postgresPort, writeMergerPort, restServerPort, webportalPort,
        ...(s.prometheus ? [prometheusPort] : []), ...(s.alertManager ? [alertManagerPort] : []),
        ...(s.grafana ? [grafanaPort] : []), ...(s.watchdog ? [watchdogPort] : []),
        ...(s.marketplace ? Object.values(marketplacePorts) : [])];
    const everyNode = [rpcbindPort, logManagerPort, kubeProxyHealthPort, kubeRouterHealthPort, kubeRouterGobgpPort,
        ...(s.nodeExporter ? [nodeExporterPort] : []), ...(s.jobExporter ? [jobExporterPort] : [])];
    return { master: [...master].sort((a, b) => a - b), everyNode: [...everyNode].sort((a, b) => a - b) };
}

/**
 * The guard's nftables rules for one node (the master's or any other's). A filter in prerouting,
 * before the hostPort DNAT, so it sees the port a client asked for:
 * - loopback, replies, the master's address and the pod network pass (Prometheus scrapes from
 *   the master; pylon and rest-server are pods);
 * - everything else, jobs included (OpenPAI's job pods use the host network, so their packets
 *   come from a node's address), is dropped on the guarded ports of the node's own addresses and
 *   on any TCP port of a pod but DNS.
 * IPv6 is not trusted at all on those ports: the cluster network is IPv4.
 * The file replaces the whole table at once (declare, delete, define), so applying it again is safe.
 */
export function hostGuardRules(ctx: PaiContext, role: "master" | "node"): string {
    const ports = guardedPorts(ctx);
    const local = role === "master" ? [...ports.master, ...ports.everyNode].sort((a, b) => a - b) : ports.everyNode;
    const set = local.join(", ");
    return [
        `table inet ${hostGuardTable}`,
        `delete table inet ${hostGuardTable}`,
        `table inet ${hostGuardTable} {`,
        "  chain prerouting {",
        "    type filter hook prerouting priority -150; policy accept;",
        "    iifname \"lo\" accept",
        "    ct state established,related accept",
        `    ip saddr { ${ctx.master.hostip}, ${ctx.podCidr} } accept`,
        `    fib daddr type local tcp dport { ${set} } counter drop`,
        `    meta nfproto ipv6 tcp dport { ${set} } counter drop`,
        `    fib daddr type local udp dport ${rpcbindPort} counter drop`,
        `    meta nfproto ipv6 udp dport ${rpcbindPort} counter drop`,
        `    ip daddr ${ctx.podCidr} tcp dport != 53 counter drop`,
        "  }",
        "}",
        "",
    ].join("\n");
}

/** The guard's shell: apply the node's rules, then hold them until the pod stops, and remove them then. */
function guardScript(ctx: PaiContext): string {
    return [
        "set -eu",
        `role=node; [ "$NODE_NAME" = '${ctx.master.hostname}' ] && role=master`,
        "nft -f \"/etc/openpai-guard/$role.nft\"",
        `echo "host guard: applied the $role rules (table inet ${hostGuardTable}) on $NODE_NAME"`,
        `trap 'nft delete table inet ${hostGuardTable}; echo "host guard: removed"; exit 0' TERM INT`,
        // The container's stdin is open and never written: read blocks until the signal comes.
        "read -r _ || true",
    ].join("\n");
}

/**
 * A host firewall on every node (services.hostGuard), as a DaemonSet so existing-mode clusters get
 * it too: kube-proxy's image (it carries nft), host network, NET_ADMIN only.
 */
export function hostGuardManifests(ctx: PaiContext): K8sObject[] {
    if (!ctx.services.hostGuard) {
        return [];
    }
    const rules = { "master.nft": hostGuardRules(ctx, "master"), "node.nft": hostGuardRules(ctx, "node") };
    const script = guardScript(ctx);
    return [
        configMap("host-guard", "kube-system", rules),
        daemonSet({
            name: "host-guard", namespace: "kube-system",
            podAnnotations: sha256Annotation(`${rules["master.nft"]}${rules["node.nft"]}${script}`),
            podSpec: {
                hostNetwork: true,
                priorityClassName: "system-node-critical",
                tolerations: [{ operator: "Exists" }],
                terminationGracePeriodSeconds: 10,
                containers: [container({
                    name: "host-guard", image: ctx.kubeProxyImage,
                    requests: daemonRequests(workerDaemons.hostGuard),
                    command: ["/bin/sh", "-c", script],
                    stdin: true,
                    env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
                    securityContext: { capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } },
                    volumeMounts: [{ name: "rules", mountPath: "/etc/openpai-guard", readOnly: true }],
                })],
                volumes: [{ name: "rules", configMap: { name: "host-guard" } }],
            },
        }),
    ];
}
