import * as crypto from "crypto";
import * as yaml from "js-yaml";
import { HivedConfig, masterOf, StackConfig, workersOf } from "../../config";

/** The namespace PAI's services run in (OpenPAI v1.8 deploys them to `default`). */
export const paiNamespace = "default";

/** A group of users as rest-server's group.yaml lists it (config/platform-schema.ts groupSchema). */
export type PaiGroup = StackConfig["groups"][number];

/** Port of HiveD's web service (OpenPAI also exposed it as a NodePort; here it stays inside the cluster). */
export const hivedPort = 30096;

/** OpenPAI's cluster.common.data-path: where services keep data on their host. */
export const paiDataPath = "/datastorage";

/** Images that are not built by OpenPAI, pinned (see docs/compatibility.md for why each one). */
export const externalImages = {
    frameworkcontroller: "docker.io/frameworkcontroller/frameworkcontroller:v1.0.1",
    hivedscheduler: "docker.io/hivedscheduler/hivedscheduler:v0.3.4",
    nvidiaDevicePlugin: "nvcr.io/nvidia/k8s-device-plugin:v0.20.0",
    // The project's only release: it tags images 0.1.0, without a v (its CI, .github/workflows/ci.yml).
    fuseDevicePlugin: "ghcr.io/squat/generic-device-plugin:0.1.0",
    postgresql: "docker.io/library/postgres:16.6",
    prometheus: "docker.io/prom/prometheus:v3.1.0",
    // The last release with the v1 API rest-server calls (/alert-manager/api/v1/alerts); 0.27 removed it.
    alertManager: "docker.io/prom/alertmanager:v0.26.0",
    nodeExporter: "docker.io/prom/node-exporter:v1.8.2",
    grafana: "docker.io/grafana/grafana:11.4.0",
    nginx: "docker.io/library/nginx:1.27.3",
    // Only for chown in init containers, as OpenPAI's manifests used busybox.
    busybox: "docker.io/library/busybox:1.35.0",
} as const;

/** Everything the PAI manifests are built from: plain data, no Pulumi resources. */
export interface PaiContext {
    clusterId: string;
    /** Namespace of the PAI services (OpenPAI's services and job frameworks live in `default`). */
    namespace: string;
    paiVersion: string;
    kubernetesVersion: string;
    master: { hostname: string; hostip: string };
    /** The workers' addresses (hostip), which need no DNS to reach. */
    workers: string[];
    /** Workers with NVIDIA GPUs, and how many their machine type declares. */
    gpuWorkers: { hostip: string; gpus: number }[];
    /** Image of an OpenPAI-built service, from the configured registry and tag. */
    paiImage(name: string): string;
    /** The kube-scheduler image matching the cluster's Kubernetes release. */
    schedulerImage: string;
    /** The kube-proxy image of that release (it carries nft: the host guard uses it). */
    kubeProxyImage: string;
    services: StackConfig["services"];
    hived: { yaml: string; hash: string; vcs: string[] };
    layoutYaml: string;
    servicesYaml: string;
    adminUser: string;
    /** The portal's address: always HTTPS (pylon redirects port 80). */
    portalUrl: string;
    /** Groups of users and their VCs (rest-server's group.yaml). */
    groups: PaiGroup[];
    /** The pod network's range: the host guard trusts it (PAI's own pods; jobs use the host network). */
    podCidr: string;
    /** The portal's certificate: where it comes from, and a revision that changes with it (rolls pylon). */
    tls: PortalTls;
    /** Team storage for jobs (openpai:storage). */
    storage: StackConfig["storage"];
    /** Where alerts go (openpai:alerts), if anywhere; the SMTP password is a Secret of its own. */
    alerts?: StackConfig["alerts"];
    /** Days before a certificate's expiry to alert (alerts.certificateWarningDays, else cluster.certificateRenewalDays). */
    certificateWarningDays: number;
    /** kubeadm mode: the cluster's certificates are kubeadm's, at its paths on the master. */
    kubeadmCertificates: boolean;
}

/**
 * The portal's certificate: the admin's (`openpai:tls`), or one generated for `names` (the
 * portal host and the master's address) by the program's own CA.
 */
export interface PortalTls {
    source: "configured" | "generated";
    /** Host names and IP addresses the certificate is for. */
    names: string[];
    /** Changes exactly when the certificate does (a digest of the configured one, or of the names a generated one covers). */
    revision: string;
}

export function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

/** The portal's certificate source, the names it must cover, and its revision. */
export function portalTls(config: StackConfig, portalHost: string, masterIp: string): PortalTls {
    const names = [...new Set([portalHost, masterIp])];
    const configured = config.tls?.certificate;
    return configured
        ? { source: "configured", names, revision: sha256(configured).slice(0, 16) }
        : { source: "generated", names, revision: sha256(`generated ${names.join(" ")}`).slice(0, 16) };
}

/** Builds the context for the PAI manifests from the validated stack config and its hived config. */
export function paiContext(config: StackConfig, hived: HivedConfig): PaiContext {
    const master = masterOf(config.layout);
    const registry = config.cluster.registry;
    // HiveD listens on :9096 unless told otherwise (pkg/api/config.go); its Service targets hivedPort.
    const hivedYaml = yaml.dump({ ...hived, webServerAddress: `:${hivedPort}` }, { lineWidth: -1, noRefs: true, sortKeys: true });
    const portalHost = config.cluster.portalHost ?? master.hostip;
    const servicesConfiguration = {
        cluster: {
            common: { "cluster-id": config.cluster.name, "k8s-rbac": "true", "job-history": "true", "data-path": paiDataPath, "qos-switch": "false" },
            "docker-registry": { namespace: registry.namespace, domain: registry.domain, tag: config.cluster.paiVersion, "secret-name": "pai-secret" },
        },
        "rest-server": { "default-pai-admin-username": config.adminUser },
        webportal: { "server-port": 9286 },
        authentication: {
            "OIDC": false,
            "group-manager": {
                "group-data-source": "basic",
                "admin-group": { groupname: "admingroup", description: "admin's group", externalName: "" },
                "default-group": { groupname: "default", description: "group for default vc", externalName: "" },
            },
        },
        marketplace: { enable: config.services.marketplace },
    };
    return {
        clusterId: config.cluster.name,
        namespace: paiNamespace,
        paiVersion: config.cluster.paiVersion,
        kubernetesVersion: config.cluster.kubernetesVersion,
        master: { hostname: master.hostname, hostip: master.hostip },
        workers: workersOf(config.layout).map(w => w.hostip),
        gpuWorkers: workersOf(config.layout).flatMap(w => {
            const device = config.layout["machine-sku"][w["machine-type"]]["computing-device"];
            return device?.type === "nvidia.com/gpu" ? [{ hostip: w.hostip, gpus: device.count }] : [];
        }),
        paiImage: name => `${registry.domain}/${registry.namespace}/${name}:${config.cluster.paiVersion}`,
        schedulerImage: `registry.k8s.io/kube-scheduler:${config.cluster.kubernetesVersion}`,
        kubeProxyImage: `registry.k8s.io/kube-proxy:${config.cluster.kubernetesVersion}`,
        services: config.services,
        hived: { yaml: hivedYaml, hash: sha256(hivedYaml).slice(0, 16), vcs: Object.keys(hived.virtualClusters).sort() },
        layoutYaml: yaml.dump(config.layout, { lineWidth: -1, noRefs: true }),
        servicesYaml: yaml.dump(servicesConfiguration, { lineWidth: -1, noRefs: true }),
        adminUser: config.adminUser,
        portalUrl: `https://${portalHost}/`,
        groups: config.groups,
        podCidr: config.cluster.podCidr,
        tls: portalTls(config, portalHost, master.hostip),
        storage: config.storage,
        alerts: config.alerts,
        certificateWarningDays: config.alerts?.certificateWarningDays ?? config.cluster.certificateRenewalDays,
        kubeadmCertificates: config.cluster.mode === "kubeadm",
    };
}
