import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostCommonArgs, kubePackagesStep, prepareStep, StepChain } from "./host-steps";
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
    public readonly steps: command.remote.Command[];

    constructor(name: string, args: DevBoxArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:DevBox", name, {}, opts);
        const chain = new StepChain(name, this, args.connection, args.checkOnly);
        prepareStep(chain, args);
        kubePackagesStep(chain, args, "kubectl");
        chain.add("devbox", { step: "devbox", asUser: true, settings: { KUBECONFIG_CONTENT: pulumi.secret(args.kubeconfig) } });
        this.steps = chain.steps;
        this.registerOutputs({});
    }
}
