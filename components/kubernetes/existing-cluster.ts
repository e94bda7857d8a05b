import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Layout } from "../../config";
import { nodeLabels } from "./node-labels";
import { clusterProvider } from "./provider";

export interface ExistingClusterArgs {
    /** Kubeconfig contents of the cluster (secret). */
    kubeconfig: pulumi.Input<string>;
    /** Stable identity of the cluster, so a changed kubeconfig does not replace every object. */
    clusterId: string;
    /** The layout whose machines are this cluster's nodes (hostname = node name). */
    layout: Layout;
}

/** A Kubernetes cluster that already exists: a provider for it, and the PAI labels on its nodes. */
export class ExistingCluster extends pulumi.ComponentResource {
    public readonly provider: k8s.Provider;
    public readonly nodeLabels: k8s.core.v1.NodePatch[];

    constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:kubernetes:ExistingCluster", name, {}, opts);
        this.provider = clusterProvider(`${name}-provider`, args.kubeconfig, args.clusterId, { parent: this });
        this.nodeLabels = args.layout["machine-list"].map(machine => new k8s.core.v1.NodePatch(`${name}-labels-${machine.hostname}`, {
            metadata: { name: machine.hostname, labels: nodeLabels(machine, args.layout) },
        }, { parent: this, provider: this.provider }));
        this.registerOutputs({});
    }
}
