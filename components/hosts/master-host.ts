import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Machine, MachineSku, quantityToMi } from "../../config";
import { nodeLabels } from "../kubernetes/node-labels";
import { HostConnection, hostStep, stdoutValue } from "./step";

export interface MasterHostArgs {
    /** The master's layout entry (hostname = node name, hostip = API address). */
    machine: Machine;
    /** Its SKU, checked by preflight. */
    sku: MachineSku;
    /** SSH access to it. */
    connection: HostConnection;
    /** Kubernetes release (kubeadm, kubelet, kubectl). */
    kubernetesVersion: string;
    podCidr: string;
    serviceCidr: string;
    /** Bootstrap token workers join with (secret). */
    joinToken: pulumi.Input<string>;
    registryMirrors: string[];
    aptMirror?: string;
    /** Print what each step would do instead of doing it. */
    checkOnly: boolean;
}

/** The control-plane host: prerequisites, containerd, kubeadm init, and its kubeconfig. */
export class MasterHost extends pulumi.ComponentResource {
    /** Every step, in order. */
    public readonly steps: command.remote.Command[];
    /** `sha256:<hash>` of the cluster CA, pinned by joining workers. */
    public readonly caCertHash: pulumi.Output<string>;
    /** Admin kubeconfig (secret); empty in check-only mode. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** The last step (its node labelled): workers join after it. */
    public readonly ready: command.remote.Command;

    constructor(name: string, args: MasterHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:hosts:MasterHost", name, {}, opts);
        const { machine, connection, checkOnly } = args;
        const base = { EXPECTED_HOSTNAME: machine.hostname, K8S_VERSION: args.kubernetesVersion };
        const steps: command.remote.Command[] = [];
        const step = (id: string, stepArgs: Omit<Parameters<typeof hostStep>[1], "connection" | "checkOnly">) => {
            const cmd = hostStep(`${name}-${id}`, { connection, checkOnly, ...stepArgs },
                { parent: this, dependsOn: steps.slice(-1) });
            steps.push(cmd);
            return cmd;
        };
        step("wait-ready", { step: "wait-ready" });
        step("preflight", { step: "preflight", settings: {
            ...base, ROLE: "master", SKU_MEM_MB: quantityToMi(args.sku.mem), SKU_VCORE: args.sku.cpu.vcore, GPU_COUNT: 0,
        } });
        step("kernel", { step: "kernel" });
        step("containerd", { step: "containerd", settings: { REGISTRY_MIRRORS: args.registryMirrors.join(" ") } });
        step("kube-packages", { step: "kube-packages", settings: { ...base, ...(args.aptMirror ? { APT_MIRROR: args.aptMirror } : {}) } });
        const init = step("kubeadm-init", {
            step: "kubeadm-init",
            settings: { ...base, JOIN_TOKEN: args.joinToken, POD_CIDR: args.podCidr, SERVICE_CIDR: args.serviceCidr, MASTER_IP: machine.hostip },
            onDelete: { step: "kubeadm-reset" },
        });
        const kubeconfig = step("kubeconfig", { step: "kubeconfig", secretStdout: true });
        const labels = Object.entries(nodeLabels(machine)).map(([k, v]) => `${k}=${v}`).join(" ");
        this.ready = step("node", { step: "node", settings: { NODE_NAME: machine.hostname, NODE_LABELS: labels } });
        this.steps = steps;
        this.caCertHash = stdoutValue(init, "ca_cert_hash");
        this.kubeconfig = pulumi.secret(kubeconfig.stdout);
        this.registerOutputs({ caCertHash: this.caCertHash, kubeconfig: this.kubeconfig });
    }
}
