import { externalImages, PaiContext } from "../context";
import { container, daemonSet, hostPathVolume, K8sObject, onMaster, secretEnv } from "../objects";

/** Secret (created with generated values by PaiServices) holding the DB credentials. */
export const databaseSecret = { name: "pai-database", password: "password", connection: "connection-string" };
export const postgresPort = 5432;
/** The master's directory PostgreSQL keeps its data in (OpenPAI's internal storage path). */
export const postgresDataRoot = "/mnt/paiInternal/storage";
/**
 * The master's directory a restored backup's database dump waits in (`openpai restore`,
 * components/hosts/scripts/restore.sh), mounted as the image's /docker-entrypoint-initdb.d: its
 * scripts run once, on an empty data directory, so a rebuilt master's first start loads the dump.
 */
export const postgresRestoreDir = "/var/lib/openpai/restore/database";
/** The postgres user of the image (the official image's uid and gid; the lab's stand-in keeps them). */
export const postgresUid = 999;

/**
 * PostgreSQL on the master, host network, as OpenPAI ran it (src/postgresql/deploy/
 * postgresql.yaml.template): user root, database openpai, `-N 1000` connections (the write-merger,
 * pollers and rest-server pools exceed the default 100). Its data lives in a host directory of
 * the master: OpenPAI's internal-storage loop device is not used (docs/compatibility.md). A
 * backup's dump staged on a rebuilt master is loaded on its first start (postgresRestoreDir).
 */
export function postgresqlManifests(ctx: PaiContext): K8sObject[] {
    return [daemonSet({
        name: "postgresql", namespace: ctx.namespace,
        podSpec: {
            ...onMaster,
            hostNetwork: true,
            priorityClassName: "pai-daemon-priority",
            containers: [container({
                name: "postgresql", image: externalImages.postgresql,
                requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "2Gi" },
                args: ["-c", `port=${postgresPort}`, "-N", "1000"],
                ports: [{ containerPort: postgresPort, hostPort: postgresPort }],
                env: [
                    { name: "POSTGRES_USER", value: "root" },
                    { name: "POSTGRES_DB", value: "openpai" },
                    { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
                    secretEnv("POSTGRES_PASSWORD", databaseSecret.name, databaseSecret.password),
                ],
                readinessProbe: { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-p", String(postgresPort), "-U", "root", "-d", "openpai"] }, periodSeconds: 10 },
                volumeMounts: [
                    { name: "data", mountPath: "/var/lib/postgresql/data" },
                    { name: "restore", mountPath: "/docker-entrypoint-initdb.d" },
                ],
            })],
            volumes: [hostPathVolume("data", postgresDataRoot, "DirectoryOrCreate"), hostPathVolume("restore", postgresRestoreDir, "DirectoryOrCreate")],
        },
    })];
}
