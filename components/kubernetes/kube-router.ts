import { K8sObject } from "./kube-objects";

/** The pod network's image: kube-router, pinned (lab/versions builds the same tag for the tests). */
export const kubeRouterImage = "docker.io/cloudnativelabs/kube-router:v2.1.0";

const namespace = "kube-system";
const labels = { "k8s-app": "kube-router", tier: "node" };
/** pulumi-kubernetes's per-object delete propagation (its pkg/metadata/overrides.go: foreground unless set). */
const deletionPropagationAnnotation = "pulumi.com/deletionPropagationPolicy";

/**
 * CNI configuration kube-router installs on each node: its bridge on the node's podCIDR slice
 * (kube-router's daemonset/kubeadm-kuberouter.yaml), plus the portmap plugin, because OpenPAI's
 * rest-server, webportal, pylon and log-manager publish hostPorts (kube-router's user guide,
 * "hostPort support").
 */
export function kubeRouterCniConfig(): string {
    return JSON.stringify({
        cniVersion: "0.3.0",
        name: "mynet",
        plugins: [
            { name: "kubernetes", type: "bridge", bridge: "kube-bridge", isDefaultGateway: true, ipam: { type: "host-local" } },
            { type: "portmap", capabilities: { portMappings: true }, snat: true },
        ],
    }, null, 2);
}

/** How kube-router tunnels between nodes (cluster.podNetworkOverlay and cluster.podNetworkEncapsulation). */
export interface PodNetworkOverlay {
    /** `subnet`: tunnels to nodes of other subnets only; `full`: to every node; `none`: never. */
    overlay: "subnet" | "full" | "none";
    /** `ipip`: IP protocol 4; `fou`: IP-in-IP in UDP (kube-router's --overlay-encap-port, 5555). */
    encapsulation: "ipip" | "fou";
}

/** kube-router's own defaults (pkg/options/options.go at v2.1.0): --enable-overlay=true, --overlay-type=subnet, --overlay-encap=ipip. */
export const defaultOverlay: PodNetworkOverlay = { overlay: "subnet", encapsulation: "ipip" };

/**
 * kube-router's arguments: routes by BGP, NetworkPolicy, no service proxy, and the overlay. Its
 * defaults are left out, so clusters made before the overlay setting keep their DaemonSet as it was.
 */
export function kubeRouterArgs({ overlay, encapsulation }: PodNetworkOverlay = defaultOverlay): string[] {
    const tunnels = overlay === "none" ? ["--enable-overlay=false"]
        : [...(overlay === "full" ? ["--overlay-type=full"] : []), ...(encapsulation === "fou" ? ["--overlay-encap=fou"] : [])];
    return ["--run-router=true", "--run-firewall=true", "--run-service-proxy=false", "--bgp-graceful-restart=true", ...tunnels];
}

/**
 * kube-router as the cluster's pod network, the way its kubeadm manifest
 * (daemonset/kubeadm-kuberouter.yaml at v2.1.0) runs it next to kube-proxy: routes between nodes
 * by BGP (tunnelled as `overlay` says), NetworkPolicy enforcement, no service proxy. Pod ranges come from the node's podCIDR,
 * which kubeadm's controller-manager cuts from the cluster's pod CIDR.
 */
export function kubeRouterManifests(image = kubeRouterImage, overlay = defaultOverlay): K8sObject[] {
    const confFile = "/etc/cni/net.d/10-kuberouter.conflist";
    return [
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "kube-router", namespace } },
        {
            apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "kube-router" },
            rules: [
                { apiGroups: [""], resources: ["namespaces", "pods", "services", "nodes", "endpoints"], verbs: ["list", "get", "watch"] },
                { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list", "get", "watch"] },
                { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
                { apiGroups: [""], resources: ["services/status"], verbs: ["update"] },
                { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
            ],
        },
        {
            apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "kube-router" },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "kube-router" },
            subjects: [{ kind: "ServiceAccount", name: "kube-router", namespace }],
        },
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kube-router-cfg", namespace, labels }, data: { "cni-conf.json": kubeRouterCniConfig() } },
        {
            apiVersion: "apps/v1", kind: "DaemonSet",
            // Deleted only with the cluster (destroy), whose hosts are reset right after: the
            // provider's default (foreground) would wait for the garbage collector to remove every
            // kube-router pod, and a controller manager just restarted (a certificate renewal) left
            // a destroy waiting on it for its whole 10 minutes in CI (stop 27).
            metadata: { name: "kube-router", namespace, labels, annotations: { [deletionPropagationAnnotation]: "background" } },
            spec: {
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels },
                    spec: {
                        priorityClassName: "system-node-critical",
                        serviceAccountName: "kube-router",
                        hostNetwork: true,
                        hostPID: true,
                        tolerations: [{ effect: "NoSchedule", operator: "Exists" }, { key: "CriticalAddonsOnly", operator: "Exists" }, { effect: "NoExecute", operator: "Exists" }],
                        initContainers: [{
                            name: "install-cni", image, imagePullPolicy: "IfNotPresent",
                            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                            // The config is replaced when it changed (upstream writes it only once), then the
                            // image's cni-install puts the plugins on the host if they are missing.
                            command: ["/bin/sh", "-c", `set -e; if [ "$(cat /etc/kube-router/cni-conf.json)" != "$(cat ${confFile} 2>/dev/null)" ]; then `
                                + `rm -f /etc/cni/net.d/*.conf; cp /etc/kube-router/cni-conf.json /etc/cni/net.d/.tmp-kuberouter-cfg; `
                                + `mv /etc/cni/net.d/.tmp-kuberouter-cfg ${confFile}; fi; `
                                + "if [ -x /usr/local/bin/cni-install ]; then /usr/local/bin/cni-install; fi"],
                            volumeMounts: [
                                { name: "cni-conf-dir", mountPath: "/etc/cni/net.d" },
                                { name: "kube-router-cfg", mountPath: "/etc/kube-router" },
                                { name: "host-opt", mountPath: "/opt" },
                            ],
                        }],
                        containers: [{
                            name: "kube-router", image, imagePullPolicy: "IfNotPresent",
                            args: kubeRouterArgs(overlay),
                            env: [
                                { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                                { name: "KUBE_ROUTER_CNI_CONF_FILE", value: confFile },
                            ],
                            livenessProbe: { httpGet: { path: "/healthz", port: 20244 }, initialDelaySeconds: 10, periodSeconds: 3 },
                            resources: { requests: { cpu: "250m", memory: "250Mi" } },
                            securityContext: { privileged: true },
                            volumeMounts: [
                                { name: "lib-modules", mountPath: "/lib/modules", readOnly: true },
                                { name: "cni-conf-dir", mountPath: "/etc/cni/net.d" },
                                { name: "xtables-lock", mountPath: "/run/xtables.lock" },
                            ],
                        }],
                        volumes: [
                            { name: "lib-modules", hostPath: { path: "/lib/modules" } },
                            { name: "cni-conf-dir", hostPath: { path: "/etc/cni/net.d" } },
                            { name: "kube-router-cfg", configMap: { name: "kube-router-cfg" } },
                            { name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
                            { name: "host-opt", hostPath: { path: "/opt" } },
                        ],
                    },
                },
            },
        },
    ];
}
