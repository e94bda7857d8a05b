import { externalImages, PaiContext } from "../context";
import { container, daemonSet, hostPathVolume, K8sObject, onMaster, secretEnv } from "../objects";

export const marketplacePorts = { db: 9291, restserver: 9292, webportal: 9293 };
/** Secret with the marketplace database's generated password (created by PaiServices). */
export const marketplaceSecret = { name: "marketplace-database", password: "password" };

/**
 * The optional marketplace (job templates), off by default, as OpenPAI v1.8 deployed it
 * (src/marketplace-{db,restserver,webportal}/deploy): its own PostgreSQL on 9291, the REST server
 * (image pai-marketplace-restserver, which OpenPAI pins and does not build from src) on 9292 and
 * its web portal on 9293, all on the master's host network.
 */
export function marketplaceManifests(ctx: PaiContext): K8sObject[] {
    if (!ctx.services.marketplace) {
        return [];
    }
    const db = { user: "marketplace", database: "marketplace" };
    const onMasterHost = { ...onMaster, hostNetwork: true, priorityClassName: "pai-daemon-priority" };
    return [
        daemonSet({
            name: "marketplace-db", namespace: ctx.namespace,
            podSpec: {
                ...onMasterHost,
                containers: [container({
                    name: "marketplace-db", image: externalImages.postgresql,
                    requests: { cpu: "100m", memory: "256Mi" },
                    args: ["-c", `port=${marketplacePorts.db}`],
                    env: [
                        { name: "POSTGRES_USER", value: db.user },
                        { name: "POSTGRES_DB", value: db.database },
                        { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
                        secretEnv("POSTGRES_PASSWORD", marketplaceSecret.name, marketplaceSecret.password),
                    ],
                    volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql/data" }],
                })],
                volumes: [hostPathVolume("data", "/mnt/marketplace", "DirectoryOrCreate")],
            },
        }),
        daemonSet({
            name: "marketplace-restserver", namespace: ctx.namespace,
            podSpec: {
                ...onMasterHost,
                containers: [container({
                    name: "marketplace-restserver", image: ctx.paiImage("pai-marketplace-restserver"),
                    requests: { cpu: "100m", memory: "256Mi" },
                    env: [
                        { name: "DB_HOST", value: ctx.master.hostip },
                        { name: "DB_PORT", value: String(marketplacePorts.db) },
                        { name: "DB_USERNAME", value: db.user },
                        secretEnv("DB_PASSWORD", marketplaceSecret.name, marketplaceSecret.password),
                        { name: "DATABASE", value: db.database },
                        // It checks users' tokens with rest-server.
                        { name: "IDP_URL", value: `${ctx.portalUrl}rest-server/api/v2` },
                        { name: "NODE_ENV", value: "production" },
                        { name: "PORT", value: String(marketplacePorts.restserver) },
                        { name: "AZURE_STORAGE", value: "" },
                    ],
                })],
            },
        }),
        daemonSet({
            name: "marketplace-webportal", namespace: ctx.namespace,
            podSpec: {
                ...onMasterHost,
                containers: [container({
                    name: "marketplace-webportal", image: ctx.paiImage("pai-marketplace-webportal"),
                    requests: { cpu: "100m", memory: "256Mi" },
                    env: [
                        { name: "MARKETPLACE_API_URL", value: `${ctx.portalUrl}marketplace/api` },
                        { name: "SERVER_PORT", value: String(marketplacePorts.webportal) },
                    ],
                })],
            },
        }),
    ];
}
