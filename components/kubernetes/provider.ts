import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * The Kubernetes provider for a cluster's kubeconfig: the kubeconfig stays secret, a stable
 * cluster identity keeps a changed kubeconfig from replacing every object, destroy finishes
 * when the cluster is already gone, and ConfigMaps update in place (the hived config hash
 * annotation rolls the pods that must restart).
 */
export function clusterProvider(name: string, kubeconfig: pulumi.Input<string>, clusterId: string,
                                opts: pulumi.CustomResourceOptions): k8s.Provider {
    return new k8s.Provider(name, {
        kubeconfig: pulumi.secret(kubeconfig),
        clusterIdentifier: clusterId,
        deleteUnreachable: true,
        enableConfigMapMutable: true,
    }, opts);
}
