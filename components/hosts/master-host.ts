import * as pulumi from "@pulumi/pulumi";
import { Machine, MachineSku } from "../../config";
import { RemoteCommand } from "./commands";
import { hostReset } from "./host-reset";
import { HostCommonArgs, kubeUpgradePart, provisionParts, runtimeParts, StepChain } from "./host-steps";
import { HostConnection } from "./step";

export interface MasterHostArgs extends HostCommonArgs {
    /** The master's layout entry (hostname = node name, hostip = API address). */
    machine: Machine;
    /** Its node labels in kubectl syntax (host-steps.ts nodeLabelArgs). */
    nodeLabels: string;
    /** Its SKU, checked by preflight. */
    sku: MachineSku;
    /** SSH access to it. */
    connection: HostConnection;
    /** Pod network (the CNI's range). */
    podCidr: string;
    /** Service network. */
    serviceCidr: string;
    /** Extra names and addresses for the API server's certificate. */
    certSans: string[];
    /** kubelet's hard eviction thresholds, when not its defaults (every node gets the master's kubelet config). */
    evictionHard?: Record<string, string>;
    /** Renew the kubeadm certificates that expire by this date (ISO 8601) before capturing the kubeconfig; "" for none. */
    renewCertificatesExpiringBy: pulumi.Input<string>;
}

/**
 * The control-plane host: `provision` (prepare, preflight, kernel) and `runtime` (Kubernetes
 * packages, containerd) as on workers, `upgrade` (a running control plane moved to a new
 * cluster.kubernetesVersion, before any worker), then kubeadm init, its kubeconfig (renewing the
 * certificates first when they are due) and its node's labels.
 */
export class MasterHost extends pulumi.ComponentResource {
    /** Admin kubeconfig (secret); empty in check-only mode. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** The last step (its node labelled): workers join after it. */
    public readonly ready: RemoteCommand;
    /** The control plane at the cluster's release: workers upgrade after it. */
    public readonly upgraded: RemoteCommand;

    constructor(name: string, args: MasterHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:MasterHost", name, {}, opts);
        const { machine, connection, checkOnly } = args;
        const chain = new StepChain(name, this, connection, checkOnly);
        chain.add("provision", { steps: provisionParts(machine, args.sku, args, "master", 0) });
        chain.add("runtime", { steps: runtimeParts(args) });
        this.upgraded = chain.add("upgrade", { steps: [kubeUpgradePart(args, "control-plane", machine.hostname)] });
        const reset = hostReset(`${name}-reset`, { connection, nodeName: machine.hostname, checkOnly }, { parent: this, dependsOn: chain.last() });
        chain.add("kubeadm-init", { steps: [{ step: "kubeadm-init", settings: {
            K8S_VERSION: args.kubernetesVersion, POD_CIDR: args.podCidr, SERVICE_CIDR: args.serviceCidr, MASTER_IP: machine.hostip,
            EXPECTED_HOSTNAME: machine.hostname, API_ENDPOINT: args.apiEndpoint, CERT_SANS: args.certSans.join(" "),
            ...(args.evictionHard ? { EVICTION_HARD: Object.entries(args.evictionHard).map(([k, v]) => `${k}=${v}`).join(" ") } : {}),
        } }] }, { dependsOn: [reset] });
        const kubeconfig = chain.add("kubeconfig", { steps: [{ step: "kubeconfig", settings: { RENEW_EXPIRING_BY: args.renewCertificatesExpiringBy } }], secretStdout: true });
        this.ready = chain.add("node", { steps: [{ step: "node", settings: { NODE_NAME: machine.hostname, NODE_LABELS: args.nodeLabels } }] });
        this.kubeconfig = pulumi.secret(kubeconfig.stdout);
        this.registerOutputs({ kubeconfig: this.kubeconfig });
    }
}
