import * as pulumi from "@pulumi/pulumi";
import { HostCommonArgs, kubePackagesPart, preparePart, StepChain } from "./host-steps";
import { HostConnection } from "./step";

export interface DevBoxArgs extends HostCommonArgs {
    /** SSH access to the admin's dev box. */
    connection: HostConnection;
    /** The cluster's admin kubeconfig (secret), written to ~/.kube/config of the SSH user. */
    kubeconfig: pulumi.Input<string>;
}

/**
 * The admin host OpenPAI ran its dev-box container on, outside the cluster: kubectl at the
 * cluster's release (from the same Kubernetes packages as the nodes) and the kubeconfig.
 */
export class DevBox extends pulumi.ComponentResource {
    constructor(name: string, args: DevBoxArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:DevBox", name, {}, opts);
        const chain = new StepChain(name, this, args.connection, args.checkOnly);
        chain.add("packages", { steps: [preparePart(args), kubePackagesPart(args, "kubectl")] });
        chain.add("devbox", { steps: [{ step: "devbox", settings: { KUBECONFIG_CONTENT: pulumi.secret(args.kubeconfig) } }], asUser: true });
        this.registerOutputs({});
    }
}
