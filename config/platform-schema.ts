import { z } from "zod";
import { hostField, hostPortField, loginField, textField, urlField } from "./fields";
import { dnsLabel, hostnamePattern } from "./schema";

/*
 * What the PAI platform is configured with, apart from the hosts and the layout (schema.ts): its
 * groups, team storage, alerts, the portal's certificate and the optional services.
 */

/**
 * A group of PAI users and what it may do: rendered into rest-server's group.yaml (grouplist).
 * rest-server's group names are letters, digits and '_' (src/rest-server/src/config/v2/group.js).
 */
export const groupSchema = z.strictObject({
    // rest-server keeps a group in a Secret named by the group name in hex (src/rest-server/src/models/kubernetes/k8s-secret.js): 253 / 2.
    name: z.string().max(126, "at most 126 characters (rest-server names its Secret by the name in hex)")
        .regex(/^[A-Za-z0-9_]+$/, "group names may use letters, digits and '_' only (rest-server's rule)"),
    description: textField(1000).default(""),
    /** Members are PAI administrators (every VC, user management). */
    admin: z.boolean().default(false),
    /** VCs the members may submit jobs to. */
    virtualClusters: z.array(dnsLabel("a virtual cluster name")).max(1000).default([]),
});

export const groupsSchema = z.array(groupSchema).max(1000, "at most 1000 groups");

/** A group name as rest-server writes it (groupSchema), for the groups a storage is granted to. */
const groupName = z.string().max(126).regex(/^[A-Za-z0-9_]+$/, "name a group: letters, digits and '_' (a group of openpai:groups, or OpenPAI's default or admingroup)");
/** A Kubernetes quantity of storage (a PersistentVolume's capacity, a claim's request). */
const storageSize = z.string().max(32).regex(/^[1-9][0-9]{0,15}(Ki|Mi|Gi|Ti|Pi)$/, "must be a size such as 100Gi or 10Ti");

/** An NFS export, mounted by the kubelet with the NFS client (nfs-common) on the workers. */
export const nfsStorageSchema = z.strictObject({
    server: hostField(),
    /** The exported directory on the server. */
    path: z.string().max(1024).regex(/^\/([A-Za-z0-9._~+:@%-]+\/?)*$/,
        "must be an absolute path on the server such as /data (letters, digits and . _ ~ + : @ % - between slashes)")
        .refine(path => !path.split("/").some(part => part === "." || part === ".."), "must be an absolute path on the server such as /data, without . or .. parts"),
    /** mount -o options, e.g. nfsvers=4.1 (OpenPAI's example). */
    mountOptions: z.array(z.string().max(128).regex(/^[A-Za-z0-9_.=:-]+$/, "must be one mount option such as nfsvers=4.1 or hard")).max(32).default([]),
    /** Jobs mount it read-only (the PV's nfs.readOnly, which rest-server passes on to jobs). */
    readOnly: z.boolean().default(false),
    /** The PersistentVolume's capacity (NFS does not enforce it; the claim asks for the same). */
    size: storageSize.default("1Ti"),
});

/**
 * Team storage for jobs (OpenPAI v1.8's storage: a PersistentVolumeClaim in the PAI namespace named
 * as the storage, granted to groups through their storageConfigs). Exactly one of `nfs`,
 * `storageClass` or `existingClaim` says where it comes from.
 */
export const storageSchema = z.strictObject({
    /** The storage's name in job protocols (extras.storages[].name), which is the claim's name. */
    name: dnsLabel("a storage name").max(56, "must be at most 56 characters: jobs mount it as the volume <name>-volume, a DNS label of at most 63"),
    nfs: nfsStorageSchema.optional(),
    /** A claim the program makes from this StorageClass (ReadWriteMany), of `size`. */
    storageClass: z.strictObject({
        name: z.string().max(253).regex(hostnamePattern, "must name a StorageClass (a lowercase DNS-1123 name)"),
        size: storageSize.default("1Ti"),
    }).optional(),
    /** The admin's own claim of this name in the PAI namespace: only granted, never touched. */
    existingClaim: z.literal(true, { message: "must be true (or left out)" }).optional(),
    /** false: each user mounts a sub-directory named after them (the claim's label share: "false"). */
    share: z.boolean().default(true),
    /** Groups whose members may mount it; a group's first storage is mounted by default. */
    groups: z.array(groupName).max(1000).default([]),
}).superRefine((storage, ctx) => {
    const sources = (["nfs", "storageClass", "existingClaim"] as const).filter(k => storage[k] !== undefined);
    if (sources.length !== 1) {
        ctx.addIssue({ code: "custom", path: [], message: `give exactly one of nfs, storageClass or existingClaim (found ${sources.join(", ") || "none"})` });
    }
    if (storage.existingClaim && !storage.share) {
        ctx.addIssue({ code: "custom", path: ["share"], message: "applies to claims the program makes: label your own claim share: \"false\" instead" });
    }
});

export const storagesSchema = z.array(storageSchema).max(1000, "at most 1000 storages");

/** An e-mail address as an SMTP envelope takes it: no whitespace, quotes or angle brackets. */
const emailAddress = z.string().max(254).regex(/^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/, "must be an e-mail address such as ops@example.com");

/**
 * Where alerts go (Alertmanager's receivers): e-mail through an SMTP server and webhooks. Both get
 * every alert of the rules the program writes, and a message again when it resolves.
 */
export const alertsSchema = z.strictObject({
    email: z.strictObject({
        to: z.array(emailAddress).min(1, "name at least one recipient").max(50),
        from: emailAddress,
        /** The SMTP server, host:port (587 for STARTTLS, 25 inside a trusted network). */
        smarthost: hostPortField("smtp.example.com:587").refine(v => /:[0-9]+$/.test(v), "must be host:port, e.g. smtp.example.com:587"),
        /** The SMTP login; its password is the secret openpai:alertSmtpPassword. */
        username: loginField.optional(),
        /** STARTTLS before anything is sent (off only for a relay on a trusted network: the password would travel in clear). */
        requireTls: z.boolean().default(true),
    }).optional(),
    webhooks: z.array(z.strictObject({
        /** Receives Alertmanager's webhook JSON (version 4) for firing and resolved alerts. */
        url: urlField({ path: true, credentials: "a webhook that needs a login is not supported: use a URL that authenticates by its path" }),
    })).max(16, "at most 16 webhooks").default([]),
    /** Alert this many days before a Kubernetes certificate of the master expires (default: cluster.certificateRenewalDays, when `up` would renew it). */
    certificateWarningDays: z.number().int().min(1).max(730).optional(),
});

/**
 * The portal's own certificate (PEM: the server certificate first, then its intermediates); its
 * key is the secret `openpai:tlsKey`. Without it, the program makes a CA and a certificate for the
 * portal host (stack output `portalCaCertificate`).
 */
export const tlsSchema = z.strictObject({
    certificate: z.string().max(64 * 1024, "must be at most 64 KiB of PEM")
        .regex(/^\s*-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----[-A-Za-z0-9+/=\s]*$/,
            "must be PEM certificates (-----BEGIN CERTIFICATE----- ...), the portal's first"),
});

/** Optional services; OpenPAI's essential services are always deployed. */
export const servicesSchema = z.strictObject({
    /** The PAI platform itself; false provisions Kubernetes only (kubeadm mode), e.g. to bring up a cluster first. */
    platform: z.boolean().default(true),
    prometheus: z.boolean().default(true),
    grafana: z.boolean().default(true),
    alertManager: z.boolean().default(true),
    nodeExporter: z.boolean().default(true),
    jobExporter: z.boolean().default(true),
    watchdog: z.boolean().default(true),
    /**
     * A host firewall on every node (the host-guard DaemonSet): PAI's internal ports answer only
     * the master and PAI's own pods, never jobs (host network) or other machines.
     */
    hostGuard: z.boolean().default(true),
    marketplace: z.boolean().default(false),
    /**
     * Multiplies the CPU request of every PAI container. OpenPAI's requests assume a master
     * with several spare cores; a small master (a 2-core lab host) needs about 0.25.
     */
    cpuRequestScale: z.number().min(0.05).max(1).default(1),
    /**
     * database-controller's event watcher stops when the master's disk holding the database is
     * fuller than this (OpenPAI's cluster-event-watcher-max-disk-usage-percent).
     */
    databaseMaxDiskUsagePercent: z.number().int().min(50).max(99).default(80),
});

export type ServicesConfig = z.infer<typeof servicesSchema>;
export type GroupConfig = z.infer<typeof groupSchema>;
export type TlsConfig = z.infer<typeof tlsSchema>;
export type StorageConfig = z.infer<typeof storageSchema>;
export type AlertsConfig = z.infer<typeof alertsSchema>;
