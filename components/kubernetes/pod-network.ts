import * as pulumi from "@pulumi/pulumi";
import { declareObjects } from "./kube-objects";
import { kubeRouterManifests, PodNetworkOverlay } from "./kube-router";

export interface PodNetworkArgs {
    /** kube-router image; defaults to the pinned upstream one (mirrored through cluster.registryMirrors). */
    image?: string;
    /** How it tunnels between nodes (cluster.podNetworkOverlay, cluster.podNetworkEncapsulation). */
    overlay: PodNetworkOverlay;
}

/** The pod network (CNI) of a kubeadm cluster: kube-router (components/kubernetes/kube-router.ts). */
export class PodNetwork extends pulumi.ComponentResource {
    /** The network's Kubernetes objects; workloads depend on them. */
    public readonly resources: pulumi.CustomResource[];

    constructor(name: string, args: PodNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:kubernetes:PodNetwork", name, {}, opts);
        this.resources = declareObjects(this, name, kubeRouterManifests(args.image, args.overlay));
        this.registerOutputs({});
    }
}
