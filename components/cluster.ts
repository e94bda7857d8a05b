import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { hivedForStack, masterOf, StackConfig, VcCapacity } from "../config";
import { HivedConfig } from "../config/hived";

export interface OpenPaiClusterArgs {
    /** The validated stack config (see config/stack.ts). */
    config: StackConfig;
}

/**
 * One OpenPAI cluster: its hived config, its generated admin credentials and, as the host and
 * service components land, the hosts and PAI services built from the stack config.
 */
export class OpenPaiCluster extends pulumi.ComponentResource {
    /** Portal entry (pylon) on the master. */
    public readonly portalUrl: pulumi.Output<string>;
    public readonly adminUser: pulumi.Output<string>;
    /** Generated; never OpenPAI's shared default. */
    public readonly adminPassword: pulumi.Output<string>;
    /** Guaranteed GPUs and CPUs per virtual cluster. */
    public readonly virtualClusters: pulumi.Output<VcCapacity[]>;
    /** The hived config deployed to the scheduler. */
    public readonly hivedConfig: HivedConfig;
    public readonly versions: pulumi.Output<{ pai: string; kubernetes: string }>;

    constructor(name: string, args: OpenPaiClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:index:Cluster", name, {}, opts);
        const { config } = args;
        const { config: hived, report } = hivedForStack(config);
        this.hivedConfig = hived;

        const password = new random.RandomPassword(`${name}-admin-password`, {
            length: 24,
            special: false,
            minUpper: 2,
            minLower: 2,
            minNumeric: 2,
        }, { parent: this });

        const host = config.cluster.portalHost ?? masterOf(config.layout).hostip;
        this.portalUrl = pulumi.output(`http://${host}/`);
        this.adminUser = pulumi.output(config.adminUser);
        this.adminPassword = pulumi.secret(password.result);
        this.virtualClusters = pulumi.output(report.capacity);
        this.versions = pulumi.output({ pai: config.cluster.paiVersion, kubernetes: config.cluster.kubernetesVersion });
        this.registerOutputs({
            portalUrl: this.portalUrl,
            adminUser: this.adminUser,
            adminPassword: this.adminPassword,
            virtualClusters: this.virtualClusters,
            versions: this.versions,
        });
    }
}
