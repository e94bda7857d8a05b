import { PaiContext } from "../context";
import { configMap, K8sObject, labels } from "../objects";

/** Namespaces rest-server keeps users, groups and tokens in, and the storage namespace. */
export const paiNamespaces = ["pai-user-v2", "pai-group", "pai-user-token", "pai-storage"];

/** OpenPAI's cluster-configuration service: namespaces, layout and service config, priority class. */
export function clusterConfigurationManifests(ctx: PaiContext): K8sObject[] {
    return [
        ...paiNamespaces.map(name => ({
            apiVersion: "v1", kind: "Namespace",
            // Job pods run privileged with hostNetwork: Pod Security Admission must allow it.
            metadata: { name, labels: { ...labels(name), "pod-security.kubernetes.io/enforce": "privileged" } },
        })),
        configMap("pai-configuration", ctx.namespace, {
            "layout.yaml": ctx.layoutYaml,
            "services-configuration.yaml": ctx.servicesYaml,
        }),
        configMap("pai-cluster-id", ctx.namespace, { "cluster-id": ctx.clusterId }),
        // The keys rest-server reads (src/rest-server/src/config/paiConfig.js: data["PAI.VERSION"]).
        configMap("pai-version", ctx.namespace, { "PAI.VERSION": ctx.paiVersion, "K8S.VERSION": ctx.kubernetesVersion }),
        {
            apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass",
            metadata: { name: "pai-daemon-priority", labels: labels("pai-daemon-priority") },
            value: 1000000, globalDefault: false,
            description: "OpenPAI daemons: evicted after jobs under node pressure",
        },
    ];
}
