import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { hivedForStack, ServicesConfig, StackConfig, VcCapacity, workersOf } from "../config";
import { HivedConfig } from "../config/hived";
import { StackSecrets } from "../config/pulumi";
import { CertificatesOutput } from "./hosts/certificates";
import { ClusterHosts } from "./hosts/cluster-hosts";
import { ExistingCluster } from "./kubernetes/existing-cluster";
import { measureWorkers } from "./kubernetes/node-resources";
import { PodNetwork } from "./kubernetes/pod-network";
import { clusterProvider } from "./kubernetes/provider";
import { paiContext } from "./pai/context";
import { PaiServices, PortalTlsMaterial } from "./pai/pai-services";
import { PortalCertificate } from "./pai/portal-certificate";

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
    /** Expiry and renewal of the certificates of a cluster provisioned here (kubeadm mode, not check-only). */
    public readonly certificates?: pulumi.Output<CertificatesOutput>;
    /** Grafana's generated admin password (secret), when Grafana is on. */
    public readonly grafanaAdminPassword?: pulumi.Output<string>;
    /** The CA that signed the portal's generated certificate (PEM): what browsers and tools should trust. Absent with openpai:tls. */
    public readonly portalCaCertificate?: pulumi.Output<string>;

    constructor(name: string, args: OpenPaiClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:index:Cluster", name, {}, opts);
        const { config, secrets } = args;
        // Existing mode: the cells fit what the nodes offer, read from the cluster now (node-resources.ts).
        const measured = config.cluster.mode === "existing" && !config.hived ? measureWorkers(config) : undefined;
        const { config: hived, report } = hivedForStack(config, { measured });
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
            grafanaAdminPassword: generated("grafana-admin-password", 24),
        };
        if (config.services.grafana) {
            this.grafanaAdminPassword = pulumi.secret(credentials.grafanaAdminPassword);
        }

        const registry = config.cluster.registry;
        const servicesArgs = {
            context,
            credentials,
            alertSmtpPassword: secrets.alertSmtpPassword,
            registryLogin: registry.username && secrets.registryPassword
                ? { server: registry.domain, username: registry.username, password: secrets.registryPassword }
                : undefined,
        };
        // The portal's certificate, only where the platform is deployed (not in a check-only run).
        const deploysPlatform = config.services.platform && !(config.cluster.mode === "kubeadm" && config.cluster.checkOnly);
        const tls = deploysPlatform ? portalTls(this, name, config, context.tls.names, secrets) : undefined;
        this.portalCaCertificate = tls?.caCertificate;
        const withPortal = () => ({ ...servicesArgs, tls: tls!.material });
        if (config.cluster.mode === "existing") {
            const cluster = new ExistingCluster(`${name}-cluster`, {
                kubeconfig: secrets.kubeconfig!,
                clusterId: config.cluster.name,
                layout: config.layout,
            }, { parent: this });
            if (config.services.platform) {
                this.services = new PaiServices(`${name}-pai`, withPortal(),
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
                    network = { provider, podNetwork: new PodNetwork(`${name}-pod-network`, {
                        overlay: { overlay: config.cluster.podNetworkOverlay, encapsulation: config.cluster.podNetworkEncapsulation },
                    }, { parent: this, providers: [provider], dependsOn: [master.ready] }) };
                    return network.podNetwork;
                },
            }, { parent: this });
            this.kubeconfig = hosts.kubeconfig;
            this.certificates = hosts.certificates;
            this.podNetwork = network?.podNetwork;
            if (network && config.services.platform) {
                this.services = new PaiServices(`${name}-pai`, withPortal(), {
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
            portalCaCertificate: this.portalCaCertificate,
            grafanaAdminPassword: this.grafanaAdminPassword,
            adminUser: this.adminUser,
            adminPassword: this.adminPassword,
            kubeconfig: this.kubeconfig,
            certificates: this.certificates,
            virtualClusters: this.virtualClusters,
            versions: this.versions,
            registryMirrors: config.cluster.registryMirrors,
            workerCount: workersOf(config.layout).length,
            optionalServices: optionalServicesOn(config.services),
        });
    }
}

/**
 * The portal's certificate: the admin's (openpai:tls), else one the program's own CA issues for
 * the portal's names (the CA is then what to trust).
 */
function portalTls(parent: pulumi.Resource, name: string, config: StackConfig, names: string[], secrets: StackSecrets):
    { material: PortalTlsMaterial; caCertificate?: pulumi.Output<string> } {
    if (config.tls && secrets.tlsKey) {
        return { material: configuredTls(config.tls.certificate, secrets.tlsKey) };
    }
    const generated = new PortalCertificate(`${name}-portal-certificate`, { clusterId: config.cluster.name, names }, { parent });
    return { material: { certificateChain: generated.certificateChain, key: generated.key }, caCertificate: generated.caCertificate };
}

/** The admin's certificate with its key, checked to belong together. */
function configuredTls(certificate: string, key: pulumi.Output<string>): PortalTlsMaterial {
    return {
        certificateChain: certificate,
        key: key.apply(pem => {
            let matches = false;
            try {
                matches = new crypto.X509Certificate(certificate).checkPrivateKey(crypto.createPrivateKey(pem));
            } catch {
                // not a key: reported below
            }
            if (!matches) {
                throw new pulumi.RunError("openpai:tlsKey is not the private key of tls.certificate (or not a PEM key): set the key that belongs to the certificate with 'pulumi config set --secret openpai:tlsKey < portal.key'");
            }
            return pem;
        }),
    };
}

/** Switches of openpai:services that are not optional services: the platform itself, and the host guard (a firewall). */
const notOptionalServices = ["platform", "hostGuard"];

/**
 * The optional services switched on: the boolean switches of openpai:services but the platform
 * and the host guard (the numeric settings beside them are not services).
 */
export function optionalServicesOn(services: ServicesConfig): string[] {
    return Object.entries(services).filter(([service, on]) => on === true && !notOptionalServices.includes(service)).map(([service]) => service);
}
