import * as pulumi from "@pulumi/pulumi";
import { masterOf, StackConfig, workersOf } from "../../config";
import { configuredHostKeys } from "../../config/known-hosts";
import { StackSecrets } from "../../config/pulumi";
import { CertificatesOutput, clientCertificateExpiry, renewExpiringBy } from "./certificates";
import { DevBox } from "./dev-box";
import { hostKey } from "./host-key";
import { HostCommonArgs, nodeLabelArgs } from "./host-steps";
import { MasterHost } from "./master-host";
import { BastionConnection, HostConnection } from "./step";
import { WorkerHost } from "./worker-host";
import { kubernetesUpgradeProblem } from "./upgrade-path";
import { joinPredecessors } from "./worker-join";

export interface ClusterHostsArgs {
    /** The validated stack config: layout, SSH settings, versions, mirrors. */
    config: StackConfig;
    /** SSH credentials. */
    secrets: StackSecrets;
    /**
     * Builds the pod network once the master is up (kubeadm mode; absent in check-only mode): the
     * workers' nodes wait for it to be Ready, and on removal are drained before it goes.
     */
    podNetwork?: (master: MasterHost) => pulumi.Resource;
}

/**
 * Every host of the layout provisioned with kubeadm over SSH, hosts in parallel. Resource names
 * come from hostnames only (never from cluster.name), so renaming the cluster replaces nothing.
 */
export class ClusterHosts extends pulumi.ComponentResource {
    public readonly master: MasterHost;
    public readonly workers: WorkerHost[];
    public readonly devBox?: DevBox;
    /** Admin kubeconfig of the new cluster (secret; empty in check-only mode). */
    public readonly kubeconfig: pulumi.Output<string>;
    /** The kubeadm certificates' expiry and renewal (stack output `certificates`; absent in check-only mode). */
    public readonly certificates?: pulumi.Output<CertificatesOutput>;
    /** host:port of the API server. */
    public readonly apiEndpoint: string;

    constructor(name: string, args: ClusterHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:ClusterHosts", name, {}, opts);
        const { config, secrets } = args;
        const { cluster, ssh, layout } = config;
        const credentials = { privateKey: secrets.sshPrivateKey, password: secrets.sshPassword };
        // Every host's SSH host key (host-key.ts): the one the config gives, else the one kept since
        // the first up by a resource `<name>-<id>-hostkey`; the bastion's first, the hosts' through it.
        const knownKey = configuredHostKeys(ssh);
        const keyOf = (id: string, label: string, host: string, port: number, user: string, names: string[], bastion?: BastionConnection) =>
            hostKey(`${name}-${id}-hostkey`, { label, host, port, user, configured: knownKey(host, port, names), dialAttempts: ssh.dialAttempts, bastion },
                { parent: this });
        let proxy: BastionConnection | undefined;
        if (ssh.bastion) {
            const { host, port, user = ssh.user } = ssh.bastion;
            proxy = { host, port, user, ...credentials, hostKey: keyOf("bastion", "the bastion", host, port, user, []) };
        }
        const connect = (id: string, label: string, host: string, names: string[], port = ssh.port, user = ssh.user): HostConnection => ({
            host, port, user, dialAttempts: ssh.dialAttempts, ...credentials, ...(proxy ? { proxy } : {}),
            hostKey: keyOf(id, label, host, port, user, names, proxy),
        });

        const master = masterOf(layout);
        this.apiEndpoint = apiEndpoint(cluster.apiServerEndpoint, master.hostip);
        const common: HostCommonArgs = {
            kubernetesVersion: cluster.kubernetesVersion,
            registryMirrors: cluster.registryMirrors,
            aptMirror: cluster.aptMirror,
            aptMirrorKeyFingerprint: cluster.aptMirrorKeyFingerprint,
            nvidiaRepositoryMirror: cluster.nvidiaRepositoryMirror,
            aptProxy: cluster.aptProxy,
            aptLogins: {
                proxy: cluster.aptProxyUser && secrets.aptProxyPassword ? { user: cluster.aptProxyUser, password: secrets.aptProxyPassword } : undefined,
                mirror: cluster.aptMirrorUser && secrets.aptMirrorPassword ? { user: cluster.aptMirrorUser, password: secrets.aptMirrorPassword } : undefined,
            },
            apiEndpoint: this.apiEndpoint,
            podNetworkOverlay: { overlay: cluster.podNetworkOverlay, encapsulation: cluster.podNetworkEncapsulation },
            checkOnly: cluster.checkOnly,
        };
        const masterConnection = connect(master.hostname, master.hostname, master.hostip, [master.hostname]);
        // Renewal of kubeadm's certificates, decided from the last up's `certificates` output; the
        // kubeconfig step that takes it waits for the check that the last up's release may move to
        // this one (a refusal there stops the preview, before any host step runs).
        const renewalDays = cluster.certificateRenewalDays;
        const renewFor = cluster.checkOnly ? pulumi.output("") : lastUp(`${name}-last-up`, this).apply(last => {
            const problem = kubernetesUpgradeProblem(last?.versions?.kubernetes, cluster.kubernetesVersion);
            if (problem) {
                throw new pulumi.RunError(problem);
            }
            return renewExpiringBy(last?.certificates, renewalDays, new Date());
        });
        this.master = new MasterHost(`${name}-${master.hostname}`, {
            ...common, machine: master, sku: layout["machine-sku"][master["machine-type"]], connection: masterConnection,
            nodeLabels: nodeLabelArgs(master, layout),
            podCidr: cluster.podCidr, serviceCidr: cluster.serviceCidr,
            certSans: cluster.apiServerEndpoint ? [this.apiEndpoint.replace(/:[0-9]+$/, "")] : [],
            evictionHard: cluster.kubeletEvictionHard, renewCertificatesExpiringBy: renewFor,
        }, { parent: this });
        const network = args.podNetwork?.(this.master);
        // Workers with provision: false join by other means (the quick start's simulated nodes).
        // Their joins go in cluster.joinBatchSize chains, under the master's sshd limit on new sessions.
        const provisioned = workersOf(layout).filter(worker => worker.provision);
        const predecessors = joinPredecessors(provisioned.length, cluster.joinBatchSize);
        this.workers = [];
        provisioned.forEach((worker, i) => this.workers.push(new WorkerHost(`${name}-${worker.hostname}`, {
            ...common, machine: worker, sku: layout["machine-sku"][worker["machine-type"]],
            connection: connect(worker.hostname, worker.hostname, worker.hostip, [worker.hostname]),
            nodeLabels: nodeLabelArgs(worker, layout),
            masterConnection, sshPort: ssh.port,
            reboots: { revision: cluster.workerRebootRevision ?? "", batchSize: cluster.rebootBatchSize },
            driver: {
                branch: cluster.nvidiaDriverBranch, mode: cluster.nvidiaDriver, kernelModules: cluster.nvidiaKernelModules,
                toolkitVersion: cluster.nvidiaToolkitVersion, repositoryKeyFingerprint: cluster.nvidiaRepositoryMirrorKeyFingerprint,
            },
            masterReady: this.master.ready, masterUpgraded: this.master.upgraded, podNetwork: network,
            joinAfter: predecessors[i] === undefined ? undefined : this.workers[predecessors[i]!].ready,
        }, { parent: this })));
        this.kubeconfig = this.master.kubeconfig;
        if (!cluster.checkOnly) {
            // Not secret: a date read from the certificate, never its key.
            this.certificates = pulumi.unsecret(pulumi.all([this.kubeconfig, renewFor]).apply(([kubeconfig, renewedFor]) =>
                ({ validUntil: clientCertificateExpiry(kubeconfig) ?? "", renewalDays, renewedFor })));
        }
        if (config.devBox) {
            this.devBox = new DevBox(`${name}-devbox`, {
                ...common, connection: connect("devbox", "the dev box", config.devBox.host, [], config.devBox.port, config.devBox.user),
                kubeconfig: this.kubeconfig,
            }, { parent: this });
        }
        this.registerOutputs({ kubeconfig: this.kubeconfig, certificates: this.certificates });
    }
}

/** What the hosts read of the last up's outputs. */
interface LastUp {
    certificates?: Partial<CertificatesOutput>;
    versions?: { kubernetes?: string };
}

/**
 * The `certificates` and `versions` outputs of this stack's last up (undefined before the first),
 * read through a reference to the stack itself: the program cannot read a resource's previous
 * output first.
 */
function lastUp(name: string, parent: pulumi.Resource): pulumi.Output<LastUp | undefined> {
    const self = new pulumi.StackReference(name, { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` }, { parent });
    // Its outputs are secret as a whole once the stack has one secret output (the kubeconfig); the
    // certificates' dates are not, and a secret here would make the kubeconfig step's script secret.
    return pulumi.unsecret(self.outputs).apply(outputs => outputs as LastUp | undefined);
}

/** host:port of the API server: cluster.apiServerEndpoint (port 6443 unless given), else the master's. */
export function apiEndpoint(configured: string | undefined, masterIp: string): string {
    if (!configured) {
        return `${masterIp}:6443`;
    }
    return /:[0-9]+$/.test(configured) ? configured : `${configured}:6443`;
}
