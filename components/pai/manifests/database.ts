import { externalImages, PaiContext } from "../context";
import { clusterRoleBinding, container, daemonSet, hostPathVolume, K8sObject, onMaster, secretEnv, serviceAccount, statefulSet } from "../objects";

/** Secret (created with generated values by the Database component) holding the DB credentials. */
export const databaseSecret = { name: "pai-database", password: "password", connection: "connection-string" };
export const postgresPort = 5432;
export const writeMergerPort = 9748;
const storageRoot = "/mnt/paiInternal";

/** Internal storage on the master, PostgreSQL on it, and the database controller feeding it. */
export function databaseManifests(ctx: PaiContext): K8sObject[] {
    const dbEnv = (name: string, key: string) => secretEnv(name, databaseSecret.name, key);
    const controller = { name: "database-controller", namespace: ctx.namespace };
    const watcher = (name: string, requests = { cpu: "100m", memory: "256Mi" }) => container({
        name, image: ctx.paiImage("database-controller"), requests,
        command: ["node", `src/${name}/index.js`],
        env: [
            dbEnv("DB_CONNECTION_STR", databaseSecret.connection),
            { name: "WRITE_MERGER_URL", value: `http://${ctx.master.hostip}:${writeMergerPort}` },
            { name: "RBAC_IN_CLUSTER", value: "true" },
            { name: "CLUSTER_ID", value: ctx.clusterId },
        ],
    });
    return [
        daemonSet({
            name: "internal-storage", namespace: ctx.namespace,
            podSpec: {
                ...onMaster,
                priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "internal-storage", image: ctx.paiImage("internal-storage-create"),
                    requests: { cpu: "50m", memory: "64Mi" },
                    securityContext: { privileged: true },
                    env: [{ name: "STORAGE_ROOT", value: storageRoot }, { name: "STORAGE_QUOTA_GB", value: "30" }],
                    volumeMounts: [{ name: "storage", mountPath: storageRoot, mountPropagation: "Bidirectional" }],
                })],
                volumes: [hostPathVolume("storage", storageRoot, "DirectoryOrCreate")],
            },
        }),
        daemonSet({
            name: "postgresql", namespace: ctx.namespace,
            podSpec: {
                ...onMaster,
                hostNetwork: true,
                priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "postgresql", image: externalImages.postgresql,
                    requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "2Gi" },
                    ports: [{ containerPort: postgresPort, hostPort: postgresPort }],
                    env: [
                        { name: "POSTGRES_USER", value: "root" },
                        { name: "POSTGRES_DB", value: "openpai" },
                        { name: "PGDATA", value: `${storageRoot}/storage/pgsql/data` },
                        dbEnv("POSTGRES_PASSWORD", databaseSecret.password),
                    ],
                    volumeMounts: [{ name: "storage", mountPath: storageRoot }],
                })],
                volumes: [hostPathVolume("storage", storageRoot, "DirectoryOrCreate")],
            },
        }),
        serviceAccount(controller.name, controller.namespace),
        clusterRoleBinding("database-controller", "view", controller),
        statefulSet({
            name: "database-controller", namespace: ctx.namespace,
            podSpec: {
                ...onMaster,
                hostNetwork: true,
                serviceAccountName: controller.name,
                priorityClassName: "pai-daemon-priority",
                containers: [
                    { ...watcher("write-merger", { cpu: "200m", memory: "512Mi" }), ports: [{ containerPort: writeMergerPort, hostPort: writeMergerPort }] },
                    watcher("framework-watcher"),
                    watcher("cluster-event-watcher"),
                    watcher("poller"),
                ],
            },
        }),
    ];
}
