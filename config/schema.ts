import { z } from "zod";
import { hostField, hostPortField, localPathField, loginField, posixUserField, textField, urlField } from "./fields";
import { quantityToMi } from "./layout";
import { parseKnownHosts, parsePublicKey } from "./known-hosts";

/** OpenPAI's hostname rule (layout schema): lowercase RFC 1123 names, dots allowed. */
export const hostnamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A single DNS-1123 label: what Kubernetes object names built from it need. */
export const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** SKU names become HiveD cell type names, where a dot separates chain segments. */
export const skuNamePattern = /^[A-Za-z0-9]([-_A-Za-z0-9]*[A-Za-z0-9])?$/;
const quantityPattern = /^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;
const versionPattern = /^v[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,6}$/;
/** A repository path as the image reference grammar has it (distribution/reference): lowercase components and '/'. */
const repositoryPathPattern = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Larger than any machine: a bound keeps sizes finite (400 nines would be Infinity) and validation fast. */
const maxMemoryMi = 2 ** 30;
const maxVcores = 4096;
/** GPUs (or other devices) per machine: 8 today, 56 MIG slices on 8 GPUs, more with time-slicing. */
const maxDevices = 256;
/** Kubernetes' largest tested cluster. */
const maxMachines = 5000;

export const dnsLabel = (what: string) => z.string().max(63).regex(dnsLabelPattern,
    `${what} must be a lowercase DNS-1123 label (a-z, 0-9, '-', starting and ending alphanumeric)`);
const hostname = z.string().max(253).regex(hostnamePattern,
    "hostname must be lowercase RFC 1123 (a-z, 0-9, '-', '.'): Kubernetes uses it as the node name");
const cidr = z.cidrv4({ message: "must be an IPv4 CIDR such as 10.200.0.0/13" });
const loginInstead = (user: string, secret: string) =>
    `set ${user} and the secret openpai:${secret} instead ('pulumi config set --secret openpai:${secret} ...')`;
/** OpenPAI writes booleans in layout.yaml as the strings "true"/"false"; accept both forms. */
const layoutFlag = z.union([z.boolean(), z.enum(["true", "false"])], {
    message: "must be true or false",
}).transform(v => v === true || v === "true");
const positiveInt = (what: string, max: number) => z.number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`).positive(`${what} must be at least 1`).max(max, `${what} must be at most ${max}`);

/** An OpenPGP key's full fingerprint (v4: 40 hex digits), kept in capitals as gpg prints it. */
const fingerprint = z.string().regex(/^[0-9A-Fa-f]{40}$/,
    "must be a signing key's full fingerprint: 40 hex digits without spaces (gpg --show-keys KEYFILE prints it)").transform(v => v.toUpperCase());

export const registrySchema = z.strictObject({
    /** Registry host serving the PAI images; docker.io by default. */
    domain: hostPortField("registry.example.com:5000").default("docker.io"),
    /** Repository namespace of the PAI images. */
    namespace: z.string().max(200).regex(repositoryPathPattern,
        "must be a repository path: lowercase letters and digits, separated by '.', '_', '-' or '/'").default("openpai"),
    /** User for a private registry; the password goes in the secret `openpai:registryPassword`. */
    username: loginField.optional(),
});

export const clusterSchema = z.strictObject({
    name: dnsLabel("cluster.name").default("pai"),
    mode: z.enum(["kubeadm", "existing"], {
        message: "must be 'kubeadm' (provision hosts over SSH) or 'existing' (deploy onto a kubeconfig)",
    }).default("kubeadm"),
    paiVersion: z.string().regex(versionPattern, "must be an image tag like v1.8.0").default("v1.8.0"),
    kubernetesVersion: z.string().regex(versionPattern, "must be a Kubernetes release like v1.34.3").default("v1.34.3"),
    registry: registrySchema.prefault({}),
    registryMirrors: z.array(urlField({ path: true,
        credentials: "registry mirrors are used without a login: use one that allows anonymous pulls (private PAI images: cluster.registry.username and the secret openpai:registryPassword)",
    })).max(16, "at most 16 mirrors").default([]),
    /** Mirror of pkgs.k8s.io (same layout: <mirror>/core:/stable:/v1.34/deb/) for the Kubernetes packages. */
    aptMirror: urlField({ path: true, credentials: loginInstead("cluster.aptMirrorUser", "aptMirrorPassword") }).optional(),
    /** User name at aptMirror, when it asks for a login; the password is the secret `openpai:aptMirrorPassword`. */
    aptMirrorUser: loginField.optional(),
    /**
     * Full fingerprint (40 hex digits) of the key aptMirror signs with, when it re-signs what it
     * mirrors (aptly, Artifactory, the lab's repository); the default is pkgs.k8s.io's own key.
     */
    aptMirrorKeyFingerprint: fingerprint.optional(),
    /** HTTP proxy for the hosts' apt (e.g. apt-cacher-ng, squid); the aptMirror and nvidiaRepositoryMirror hosts are reached directly. */
    aptProxy: urlField({ path: false, credentials: loginInstead("cluster.aptProxyUser", "aptProxyPassword") }).optional(),
    /** User name at aptProxy, when it asks for a login; the password is the secret `openpai:aptProxyPassword`. */
    aptProxyUser: loginField.optional(),
    /** API server address (host or host:port) for workers and this program, if not the master's hostip:6443; added to the certificate. */
    apiServerEndpoint: hostPortField("pai-api.example.com:6443").optional(),
    podCidr: cidr.default("10.200.0.0/13"),
    serviceCidr: cidr.default("10.192.0.0/13"),
    kubeconfigPath: localPathField.optional(),
    nvidiaDriverBranch: z.string().regex(/^[0-9]{3}$/, "must be a driver branch such as 580").default("580"),
    /** `install`: the driver step installs the branch (rebooting if needed); `verify`: the admin installed it, the step checks it. */
    nvidiaDriver: z.enum(["install", "verify"], { message: "must be 'install' or 'verify'" }).default("install"),
    /**
     * Kernel modules of the driver `install` puts in: `open` (NVIDIA's default since branch 560;
     * Turing and later GPUs, Blackwell needs them) or `proprietary` (GPUs before Turing: V100, P100).
     */
    nvidiaKernelModules: z.enum(["open", "proprietary"], { message: "must be 'open' or 'proprietary'" }).default("open"),
    /**
     * Mirror of NVIDIA's container toolkit repository (same layout as
     * https://nvidia.github.io/libnvidia-container: <mirror>/stable/deb/amd64/), reached without the
     * apt proxy; plain HTTP is fine, the key's fingerprint is checked.
     */
    nvidiaRepositoryMirror: urlField({ path: true, credentials: "the NVIDIA repository mirror is used without a login: use one that allows anonymous downloads" }).optional(),
    /** Full fingerprint (40 hex digits) of the key nvidiaRepositoryMirror signs with, when it re-signs; the default is NVIDIA's own key. */
    nvidiaRepositoryMirrorKeyFingerprint: fingerprint.optional(),
    /** NVIDIA container toolkit package version (NVIDIA's apt repository). */
    nvidiaToolkitVersion: z.string().max(64).regex(/^[0-9][0-9A-Za-z.+~-]*$/, "must be a package version such as 1.17.8-1").default("1.17.8-1"),
    portalHost: hostField({ lowercase: true }).optional(),
    /**
     * kubelet's hard eviction thresholds (signal -> quantity or percent), instead of its defaults
     * (10%/15% free disk): for nodes whose disk is shared and large, e.g. containers of one machine.
     */
    kubeletEvictionHard: z.partialRecord(z.enum(["memory.available", "nodefs.available", "nodefs.inodesFree", "imagefs.available", "imagefs.inodesFree", "pid.available"], {
        message: "must be a kubelet eviction signal: memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available",
    }), z.string().max(24).regex(/^[0-9]+(\.[0-9]+)?(%|Ki|Mi|Gi|Ti)?$/, "must be a quantity such as 1Gi or a percentage such as 5%")).optional(),
    /**
     * kubeadm mode: `up` renews the cluster's certificates (kubeadm makes them for a year) once fewer
     * days than this remain, and refreshes the kubeconfig output; the certificate alert warns at the
     * same figure unless alerts.certificateWarningDays says otherwise.
     */
    certificateRenewalDays: z.number().int().min(1).max(730).default(30),
    /** Run every host step in check-only mode: print what it would do, change nothing. */
    checkOnly: z.boolean().default(false),
    /**
     * kubeadm mode: the most workers whose joins run at once. Each join opens SSH sessions to the
     * master, and the master's sshd drops new connections at random once 10 are unauthenticated
     * (its default MaxStartups 10:30:100): 5 keeps it at half of that. Raise it only with MaxStartups.
     */
    joinBatchSize: positiveInt("cluster.joinBatchSize", 1000).default(5),
    /**
     * kubeadm mode: change it (any word, e.g. a date) to reboot every worker that is a node once,
     * drained first and uncordoned after (a kernel update, say); each worker keeps the last value it
     * rebooted for. A worker joining later records it without a reboot.
     */
    workerRebootRevision: z.string().max(64).regex(/^[A-Za-z0-9._:-]+$/, "must be letters, digits and . _ : - such as 2026-12-04").optional(),
    /**
     * kubeadm mode: the most workers drained for a reboot at once (a driver change, a
     * workerRebootRevision change); the others wait for a slot. New workers, not yet nodes, need none.
     */
    rebootBatchSize: positiveInt("cluster.rebootBatchSize", 1000).default(1),
    /**
     * kube-router's tunnels between nodes (IP-in-IP): `subnet` (its default) tunnels to nodes in
     * other subnets and routes natively within one, `full` tunnels to every node (cloud VPCs that
     * drop packets of pod addresses), `none` never tunnels (the network routes the pod ranges).
     */
    podNetworkOverlay: z.enum(["subnet", "full", "none"], {
        message: "must be 'subnet' (tunnel between subnets only), 'full' (tunnel between all nodes: cloud VPCs) or 'none'",
    }).default("subnet"),
    /** The tunnels' encapsulation: `ipip` (IP protocol 4), or `fou` (IP-in-IP in UDP port 5555, where protocol 4 is not carried: Azure). */
    podNetworkEncapsulation: z.enum(["ipip", "fou"], { message: "must be 'ipip' (IP protocol 4) or 'fou' (UDP port 5555)" }).default("ipip"),
});

export const computingDeviceSchema = z.strictObject({
    type: z.string().max(253).regex(/^[a-z0-9.-]+\/[a-z0-9.-]+$/, "must be a Kubernetes extended resource such as nvidia.com/gpu"),
    model: textField(64, 1).optional(),
    count: positiveInt("computing-device.count", maxDevices),
    /**
     * HiveD cells between a GPU and the node, as GPUs per cell, smallest first: the machine's
     * topology (e.g. [2, 4] on 8 GPUs: pairs on a PCIe switch, halves on a CPU socket). Each divides
     * the next and the count. Default: the doublings from 2 that divide the count; [] for none.
     */
    cellSizes: z.array(z.number().int("cell sizes must be whole numbers").min(2, "a cell size is at least 2 GPUs")).max(8).optional(),
}).superRefine((device, ctx) => {
    const sizes = device.cellSizes ?? [];
    sizes.forEach((size, i) => {
        const next = sizes[i + 1] ?? device.count;
        if (size >= next || next % size !== 0) {
            ctx.addIssue({ code: "custom", path: ["cellSizes", i], message: `${size} must divide ${i + 1 < sizes.length ? `the next size, ${next}` : `the GPU count, ${device.count},`} and be smaller: cells of a level are made of whole cells of the level below (e.g. [2, 4] for 8 GPUs)` });
        }
    });
});

export const machineSkuSchema = z.strictObject({
    mem: z.string().max(32).regex(quantityPattern, "must be a memory quantity such as 60Gi")
        .refine(mem => !quantityPattern.test(mem) || quantityToMi(mem) <= maxMemoryMi, "must be at most 1Pi"),
    cpu: z.strictObject({ vcore: positiveInt("cpu.vcore", maxVcores) }),
    "computing-device": computingDeviceSchema.optional(),
});

export const machineSchema = z.strictObject({
    hostname,
    hostip: z.ipv4({ message: "must be an IPv4 address such as 10.0.0.11" }),
    "machine-type": z.string().max(63).regex(skuNamePattern, "name a key of machine-sku"),
    "pai-master": layoutFlag.default(false),
    "pai-worker": layoutFlag.default(false),
    "pai-storage": layoutFlag.default(false),
    /**
     * kubeadm mode: false leaves the machine out of provisioning (it joins the cluster by other
     * means, labelled as `openpai nodes` prints: nodes another tool manages, or the quick start's
     * simulated GPU nodes); it still counts in the layout and the hived config.
     */
    provision: z.boolean({ message: "must be true or false" }).default(true),
});

export const layoutSchema = z.strictObject({
    "machine-sku": z.record(z.string().max(63).regex(skuNamePattern, "SKU names may use letters, digits, '-' and '_' (at most 63)"),
        machineSkuSchema),
    "machine-list": z.array(machineSchema).min(1, "list at least one master and one worker").max(maxMachines, `at most ${maxMachines} machines`),
}).superRefine((layout, ctx) => {
    const seenHost = new Map<string, number>();
    const seenIp = new Map<string, number>();
    const skus = Object.keys(layout["machine-sku"]);
    layout["machine-list"].forEach((m, i) => {
        const at = (key: string) => ["machine-list", i, key];
        if (seenHost.has(m.hostname)) {
            ctx.addIssue({ code: "custom", path: at("hostname"),
                message: `duplicate hostname '${m.hostname}' (also machine-list[${seenHost.get(m.hostname)}]): hostnames must be unique` });
        }
        seenHost.set(m.hostname, i);
        if (seenIp.has(m.hostip)) {
            ctx.addIssue({ code: "custom", path: at("hostip"),
                message: `duplicate hostip '${m.hostip}' (also machine-list[${seenIp.get(m.hostip)}]): IPs must be unique` });
        }
        seenIp.set(m.hostip, i);
        if (!(m["machine-type"] in layout["machine-sku"])) {
            ctx.addIssue({ code: "custom", path: at("machine-type"),
                message: `unknown machine-type '${m["machine-type"]}': use one of ${skus.join(", ") || "(none: add machine-sku entries)"}` });
        }
        if (m["pai-master"] && m["pai-worker"]) {
            ctx.addIssue({ code: "custom", path: at("pai-worker"),
                message: "the master must not be a worker: set pai-worker to false on the master" });
        }
        if (m["pai-master"] && !m.provision) {
            ctx.addIssue({ code: "custom", path: at("provision"),
                message: "the master is where kubeadm makes the cluster: it is always provisioned (remove provision: false)" });
        }
    });
    const masters = layout["machine-list"].filter(m => m["pai-master"]);
    if (masters.length !== 1) {
        ctx.addIssue({ code: "custom", path: ["machine-list"],
            message: `exactly one machine must have pai-master: true (found ${masters.length}: ${masters.map(m => m.hostname).join(", ") || "none"})` });
    }
    if (!layout["machine-list"].some(m => m["pai-worker"] && !m["pai-master"])) {
        ctx.addIssue({ code: "custom", path: ["machine-list"],
            message: "at least one machine must have pai-worker: true" });
    }
});

/** A host's SSH public key as `<type> <base64>` (config/known-hosts.ts). */
const hostKeyField = z.string().max(16 * 1024, "must be at most 16 KiB: one public key").superRefine((value, ctx) => {
    const key = parsePublicKey(value);
    if (typeof key === "string") {
        ctx.addIssue({ code: "custom", message: key });
    }
});

/** SSH host keys as OpenSSH's known_hosts text (config/known-hosts.ts). */
const knownHostsField = z.string().max(4 * 1024 * 1024, "must be at most 4 MiB").superRefine((value, ctx) => {
    for (const problem of parseKnownHosts(value).problems) {
        ctx.addIssue({ code: "custom", message: problem });
    }
});

export const sshSchema = z.strictObject({
    user: posixUserField.default("ubuntu"),
    port: z.number().int().min(1).max(65535).default(22),
    /** SSH connection attempts per step, with pauses between them (covers reboots). */
    dialAttempts: z.number().int().min(1).max(1000).default(30),
    bastion: z.strictObject({
        host: hostField({ ipv6: true }),
        port: z.number().int().min(1).max(65535).default(22),
        user: posixUserField.optional(),
    }).optional(),
    /**
     * Known SSH host keys by host (a layout hostname or hostip, the bastion's or the dev box's
     * host). A host no known key names is trusted on first use: the key it shows on the first up
     * is kept in the state, and a host showing another one later is refused.
     */
    hostKeys: z.record(z.string().min(1), hostKeyField).optional(),
    /** Known SSH host keys as known_hosts text (ssh-keyscan's output; hashed names too); hostKeys comes first. */
    knownHosts: knownHostsField.optional(),
});

/** The admin's dev box, reached over SSH like the hosts: kubectl and the kubeconfig go there. */
export const devBoxSchema = z.strictObject({
    host: hostField({ ipv6: true }),
    port: z.number().int().min(1).max(65535).default(22),
    user: posixUserField.optional(),
});

/** A VC's share of one SKU: whole nodes, single GPUs (or vCPUs on CPU-only SKUs), or pinned hosts. */
export const skuQuotaSchema = z.union([
    z.number().int("must be a whole number of nodes").min(0, "must not be negative").max(maxMachines, `at most ${maxMachines}`),
    z.strictObject({
        // Whole numbers by a refinement: a failed .int() reads as a type mismatch and the union would hide it.
        nodes: z.number().min(0).max(maxMachines).refine(Number.isInteger, "must be a whole number").default(0),
        cells: z.number().min(0).max(maxMachines * maxDevices).refine(Number.isInteger, "must be a whole number").default(0),
        pinned: z.array(hostname).max(maxMachines).default([]),
    }),
], { message: "give a number of nodes, or {nodes, cells, pinned}" }).transform(q =>
    typeof q === "number" ? { nodes: q, cells: 0, pinned: [] as string[] } : q);

export const virtualClustersSchema = z.record(dnsLabel("a virtual cluster name"),
    z.record(z.string().max(63).regex(skuNamePattern, "name a worker SKU (a key of layout.machine-sku)"), skuQuotaSchema));

export type ClusterConfig = z.infer<typeof clusterSchema>;
export type Layout = z.infer<typeof layoutSchema>;
export type Machine = z.infer<typeof machineSchema>;
export type MachineSku = z.infer<typeof machineSkuSchema>;
export type SshConfig = z.infer<typeof sshSchema>;
export type DevBoxConfig = z.infer<typeof devBoxSchema>;
export type SkuQuota = z.infer<typeof skuQuotaSchema>;
export type VirtualClusters = z.infer<typeof virtualClustersSchema>;
