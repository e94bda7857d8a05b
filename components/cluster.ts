import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { hivedForStack, ServicesConfig, StackConfig, VcCapacity, workersOf } from "../config";
import { HivedConfig } from "../config/hived";
import { StackSecrets } from "../config/pulumi";
import { ClusterHosts } from "./hosts/cluster-hosts";
import { ExistingCluster } from "./kubernetes/existing-cluster";
import { PodNetwork } from "./kubernetes/pod-network";
import { clusterProvider } from "./kubernetes/provider";
import { paiContext } from "./pai/context";
import { PaiServices } from "./pai/pai-services";

export interface OpenPaiClusterArgs {
    /** The validated stack config (see config/stack.ts). */
    config: StackConfig;
    /** The stack's credentials (config/pulumi.ts). */
    secrets: StackSecrets;
}

/**
 * One OpenPAI cluster: generated credentials, the hived config, and the PAI services on the
 * cluster's Kubernetes. In `existing` mode that is the kubeconfig's cluster; `kubeadm` mode
 * provisions it on the layout's hosts over SSH (components/hosts) first.
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
    /** The PAI services, once the cluster's Kubernetes is known (unless services.platform is false). */
    public readonly services?: PaiServices;
    /** The pod network of a cluster provisioned here (kubeadm mode). */
    public readonly podNetwork?: PodNetwork;
    /** Admin kubeconfig of a cluster provisioned here (kubeadm mode; secret). */
    public readonly kubeconfig?: pulumi.Output<string>;

    constructor(name: string, args: OpenPaiClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:index:Cluster", name, {}, opts);
        const { config, secrets } = args;
        const { config: hived, report } = hivedForStack(config);
        this.hivedConfig = hived;
        const context = paiContext(config, hived);

        const generated = (id: string, length: number) => new random.RandomPassword(`${name}-${id}`, {
            length, special: false, minUpper: 2, minLower: 2, minNumeric: 2,
        }, { parent: this }).result;
        const adminPassword = generated("admin-password", 24);
        const credentials = {
            adminPassword,
            databasePassword: generated("database-password", 32),
            jwtSecret: generated("jwt-secret", 48),
            logManagerPassword: generated("log-manager-password", 32),
            logManagerJwtSecret: generated("log-manager-jwt-secret", 48),
            marketplacePassword: generated("marketplace-password", 32),
            jobSshSeed: generated("job-ssh-seed", 48),
        };

        const registry = config.cluster.registry;
        const servicesArgs = {
            context,
            credentials,
            registryLogin: registry.username && secrets.registryPassword
                ? { server: registry.domain, username: registry.username, password: secrets.registryPassword }
                : undefined,
        };
        if (config.cluster.mode === "existing") {
            const cluster = new ExistingCluster(`${name}-cluster`, {
                kubeconfig: secrets.kubeconfig!,
                clusterId: config.cluster.name,
                layout: config.layout,
            }, { parent: this });
            if (config.services.platform) {
                this.services = new PaiServices(`${name}-pai`, servicesArgs,
                    { parent: this, providers: [cluster.provider], dependsOn: cluster.nodeLabels });
            }
        } else {
            // The pod network goes on once the master is up; the workers' nodes are Ready only with
            // it, and on removal are drained before it goes. In check-only mode no cluster exists:
            // the network and services wait for a real provisioning run.
            let network: { provider: k8s.Provider; podNetwork: PodNetwork } | undefined;
            const hosts = new ClusterHosts(`${name}-hosts`, {
                config, secrets,
                podNetwork: config.cluster.checkOnly ? undefined : master => {
                    const provider = clusterProvider(`${name}-provider`, master.kubeconfig, config.cluster.name, { parent: this });
                    network = { provider, podNetwork: new PodNetwork(`${name}-pod-network`, {}, { parent: this, providers: [provider], dependsOn: [master.ready] }) };
                    return network.podNetwork;
                },
            }, { parent: this });
            this.kubeconfig = hosts.kubeconfig;
            this.podNetwork = network?.podNetwork;
            if (network && config.services.platform) {
                this.services = new PaiServices(`${name}-pai`, servicesArgs, {
                    parent: this, providers: [network.provider], dependsOn: [hosts.master.ready, ...hosts.workers.map(w => w.ready), network.podNetwork],
                });
            }
        }

        this.portalUrl = pulumi.output(context.portalUrl);
        this.adminUser = pulumi.output(config.adminUser);
        this.adminPassword = pulumi.secret(adminPassword);
        this.virtualClusters = pulumi.output(report.capacity);
        this.versions = pulumi.output({ pai: config.cluster.paiVersion, kubernetes: config.cluster.kubernetesVersion });
        // Besides the stack outputs, facts the policy pack's stack policies check (policy/policies/cluster.ts).
        this.registerOutputs({
            portalUrl: this.portalUrl,
            adminUser: this.adminUser,
            adminPassword: this.adminPassword,
            kubeconfig: this.kubeconfig,
            virtualClusters: this.virtualClusters,
            versions: this.versions,
            registryMirrors: config.cluster.registryMirrors,
            workerCount: workersOf(config.layout).length,
            optionalServices: optionalServicesOn(config.services),
        });
    }
}

/**
 * The optional services switched on: the boolean switches of openpai:services but `platform`
 * (the numeric settings beside them are not services).
 */
export function optionalServicesOn(services: ServicesConfig): string[] {
    return Object.entries(services).filter(([service, on]) => on === true && service !== "platform").map(([service]) => service);
}
