import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, hostStep } from "./step";

export interface DevBoxArgs {
    /** SSH access to the admin's dev box. */
    connection: HostConnection;
    /** kubectl release to install there (the cluster's). */
    kubernetesVersion: string;
    /** The cluster's admin kubeconfig (secret), written to ~/.kube/config. */
    kubeconfig: pulumi.Input<string>;
    /** Print what it would do instead of doing it. */
    checkOnly: boolean;
}

/** The admin host OpenPAI ran its dev-box container on: here just kubectl and the kubeconfig. */
export class DevBox extends pulumi.ComponentResource {
    public readonly setup: command.remote.Command;

    constructor(name: string, args: DevBoxArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:DevBox", name, {}, opts);
        this.setup = hostStep(`${name}-setup`, {
            connection: args.connection,
            checkOnly: args.checkOnly,
            step: "devbox",
            settings: { K8S_VERSION: args.kubernetesVersion, KUBECONFIG_CONTENT: pulumi.secret(args.kubeconfig) },
        }, { parent: this });
        this.registerOutputs({});
    }
}
