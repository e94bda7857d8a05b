import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { masterOf, StackConfig, workersOf } from "../../config";
import { StackSecrets } from "../../config/pulumi";
import { DevBox } from "./dev-box";
import { MasterHost } from "./master-host";
import { HostConnection } from "./step";
import { WorkerHost } from "./worker-host";

export interface ClusterHostsArgs {
    /** The validated stack config: layout, SSH settings, versions, mirrors. */
    config: StackConfig;
    /** SSH credentials. */
    secrets: StackSecrets;
}

/** Every host of the layout provisioned with kubeadm over SSH, hosts in parallel. */
export class ClusterHosts extends pulumi.ComponentResource {
    public readonly master: MasterHost;
    public readonly workers: WorkerHost[];
    public readonly devBox?: DevBox;
    /** Admin kubeconfig of the new cluster (secret; empty in check-only mode). */
    public readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: ClusterHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:ClusterHosts", name, {}, opts);
        const { config, secrets } = args;
        const { cluster, ssh, layout } = config;
        const credentials = { privateKey: secrets.sshPrivateKey, password: secrets.sshPassword };
        const proxy = ssh.bastion ? { host: ssh.bastion.host, port: ssh.bastion.port, user: ssh.bastion.user ?? ssh.user, ...credentials } : undefined;
        const connect = (host: string, port = ssh.port, user = ssh.user): HostConnection =>
            ({ host, port, user, dialAttempts: ssh.dialAttempts, ...credentials, ...(proxy ? { proxy } : {}) });

        // kubeadm bootstrap token: [a-z0-9]{6}.[a-z0-9]{16}
        const tokenPart = (id: string, length: number) => new random.RandomString(`${name}-join-token-${id}`, {
            length, special: false, upper: false,
        }, { parent: this }).result;
        const joinToken = pulumi.secret(pulumi.interpolate`${tokenPart("id", 6)}.${tokenPart("secret", 16)}`);

        const master = masterOf(layout);
        const common = {
            kubernetesVersion: cluster.kubernetesVersion,
            registryMirrors: cluster.registryMirrors,
            aptMirror: cluster.aptMirror,
            checkOnly: cluster.checkOnly,
        };
        this.master = new MasterHost(`${name}-${master.hostname}`, {
            ...common, machine: master, sku: layout["machine-sku"][master["machine-type"]], connection: connect(master.hostip),
            podCidr: cluster.podCidr, serviceCidr: cluster.serviceCidr, joinToken,
        }, { parent: this });
        this.workers = workersOf(layout).map(worker => new WorkerHost(`${name}-${worker.hostname}`, {
            ...common, machine: worker, sku: layout["machine-sku"][worker["machine-type"]], connection: connect(worker.hostip),
            masterConnection: connect(master.hostip), masterIp: master.hostip, joinToken, caCertHash: this.master.caCertHash,
            driverBranch: cluster.nvidiaDriverBranch, masterReady: this.master.ready,
        }, { parent: this }));
        this.kubeconfig = this.master.kubeconfig;
        if (config.devBox) {
            this.devBox = new DevBox(`${name}-devbox`, {
                connection: connect(config.devBox.host, config.devBox.port, config.devBox.user),
                kubernetesVersion: cluster.kubernetesVersion, kubeconfig: this.kubeconfig, checkOnly: cluster.checkOnly,
            }, { parent: this, dependsOn: [this.master.ready] });
        }
        this.registerOutputs({ kubeconfig: this.kubeconfig });
    }
}
