import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PaiContext } from "./context";
import { databaseSecret, postgresPort } from "./manifests/postgresql";
import { alertmanagerConfig, alertmanagerConfigSecret } from "./manifests/alerting";
import { logManagerSecret } from "./manifests/log-manager";
import { marketplaceSecret } from "./manifests/marketplace";
import { grafanaSecret } from "./manifests/monitoring";
import { pylonTlsSecret } from "./manifests/pylon";
import { restServerSecret } from "./manifests/rest-server";
import { labels } from "./objects";
import { PaiService, PaiServiceName } from "./service";
import { ed25519KeyPair } from "./ssh-key";

/** Generated credentials the services need (all secret). */
export interface PaiCredentials {
    adminPassword: pulumi.Input<string>;
    databasePassword: pulumi.Input<string>;
    jwtSecret: pulumi.Input<string>;
    /** log-manager's admin password (rest-server logs in with it) and its own JWT secret. */
    logManagerPassword: pulumi.Input<string>;
    logManagerJwtSecret: pulumi.Input<string>;
    /** The optional marketplace's database password. */
    marketplacePassword: pulumi.Input<string>;
    /** Seed of the job SSH key pair (see ssh-key.ts). */
    jobSshSeed: pulumi.Input<string>;
    /** Grafana's admin password. */
    grafanaAdminPassword: pulumi.Input<string>;
}

/** The portal's certificate and key (PEM), served by pylon. */
export interface PortalTlsMaterial {
    /** The server certificate, then its intermediates. */
    certificateChain: pulumi.Input<string>;
    /** Its private key (secret). */
    key: pulumi.Input<string>;
}

export interface PaiServicesArgs {
    /** Everything the manifests are built from (components/pai/context.ts). */
    context: PaiContext;
    /** Generated credentials, stored as Kubernetes Secrets. */
    credentials: PaiCredentials;
    /** Registry login for private PAI images; anonymous pulls when absent. */
    registryLogin?: { server: string; username: string; password: pulumi.Input<string> };
    /** The portal's certificate (the admin's, or the generated one). */
    tls: PortalTlsMaterial;
    /** The password of alerts.email.username at the SMTP server (the secret openpai:alertSmtpPassword). */
    alertSmtpPassword?: pulumi.Input<string>;
}

/**
 * Deployment order of OpenPAI's services: each stage waits for the previous ones to be ready.
 * database-controller needs PostgreSQL and the Framework CRD; rest-server exits when HiveD or the
 * database-controller's write-merger does not answer at its start.
 */
const stages: PaiServiceName[][] = [
    // The host guard first: PAI's internal ports open only once it is there.
    ["clusterConfiguration", "hostGuard"],
    ["devicePlugins", "frameworkController", "logManager", "postgresql", "runtime", "storage"],
    ["databaseController", "hivedScheduler"],
    ["restServer"],
    ["webportal", "monitoring", "marketplace"],
    ["pylon"],
];

/** The whole OpenPAI service set on one Kubernetes cluster, with its Secrets. */
export class PaiServices extends pulumi.ComponentResource {
    /** Each service component by name. */
    public readonly services: Record<PaiServiceName, PaiService>;

    constructor(name: string, args: PaiServicesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("openpai:pai:Services", name, {}, opts);
        const ctx = args.context;
        const secrets = this.secrets(name, args);
        // Job pods and the privileged daemons run in the PAI namespace: Pod Security Admission
        // must allow them there, whatever the cluster's default level.
        const podSecurity = new k8s.core.v1.NamespacePatch(`${name}-pod-security`, {
            metadata: { name: ctx.namespace, labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
        }, { parent: this });
        const services: Partial<Record<PaiServiceName, PaiService>> = {};
        let previous: pulumi.Resource[] = [...secrets, podSecurity];
        for (const stage of stages) {
            const current = stage.map(service => {
                services[service] = new PaiService(`${name}-${kebab(service)}`, { service, context: ctx }, { parent: this, dependsOn: previous });
                return services[service]!;
            });
            previous = current;
        }
        this.services = services as Record<PaiServiceName, PaiService>;
        this.registerOutputs({});
    }

    private secrets(name: string, args: PaiServicesArgs): k8s.core.v1.Secret[] {
        const { context: ctx, credentials, registryLogin, tls, alertSmtpPassword } = args;
        const opts = { parent: this };
        const secret = (id: string, namespace: string, secretName: string, data: Record<string, pulumi.Input<string>>, type = "Opaque") =>
            new k8s.core.v1.Secret(`${name}-${id}`, {
                metadata: { name: secretName, namespace, labels: labels(secretName) },
                type,
                stringData: data,
            }, opts);
        const dockerConfig = registryLogin
            ? pulumi.all([registryLogin.password]).apply(([password]) => JSON.stringify({
                auths: { [registryLogin.server]: {
                    username: registryLogin.username, password,
                    auth: Buffer.from(`${registryLogin.username}:${password}`).toString("base64"),
                } },
            }))
            : JSON.stringify({ auths: {} });
        const jobKey = pulumi.output(credentials.jobSshSeed).apply(seed => ed25519KeyPair(seed, `openpai-jobs@${ctx.clusterId}`));
        const connection = pulumi.interpolate`postgresql://root:${credentials.databasePassword}@${ctx.master.hostip}:${postgresPort}/openpai`;
        return [
            secret("pull-secret", ctx.namespace, "pai-secret", { ".dockerconfigjson": dockerConfig }, "kubernetes.io/dockerconfigjson"),
            secret("pull-secret-kube-system", "kube-system", "pai-secret", { ".dockerconfigjson": dockerConfig }, "kubernetes.io/dockerconfigjson"),
            secret("job-ssh", ctx.namespace, "job-ssh-secret", {
                "ssh-privatekey": jobKey.privateKey,
                "ssh-publickey": jobKey.publicKey,
            }),
            secret("database", ctx.namespace, databaseSecret.name, {
                [databaseSecret.password]: credentials.databasePassword,
                [databaseSecret.connection]: connection,
            }),
            secret("rest-server", ctx.namespace, restServerSecret.name, {
                [restServerSecret.adminUser]: ctx.adminUser,
                [restServerSecret.adminPassword]: credentials.adminPassword,
                [restServerSecret.jwt]: credentials.jwtSecret,
            }),
            secret("log-manager", ctx.namespace, logManagerSecret.name, {
                [logManagerSecret.adminName]: "log-manager-admin",
                [logManagerSecret.adminPassword]: credentials.logManagerPassword,
                [logManagerSecret.jwt]: credentials.logManagerJwtSecret,
            }),
            secret("pylon-tls", ctx.namespace, pylonTlsSecret, { "tls.crt": tls.certificateChain, "tls.key": pulumi.secret(tls.key) }, "kubernetes.io/tls"),
            ...(ctx.services.grafana ? [secret("grafana", ctx.namespace, grafanaSecret.name, {
                [grafanaSecret.adminPassword]: credentials.grafanaAdminPassword,
            })] : []),
            // Alertmanager's whole config: it holds the SMTP password, and webhook URLs may hold tokens.
            ...(ctx.services.alertManager ? [secret("alertmanager-config", ctx.namespace, alertmanagerConfigSecret.name, {
                [alertmanagerConfigSecret.key]: pulumi.secret(pulumi.output(alertSmtpPassword ?? "").apply(password => alertmanagerConfig(ctx, password))),
            })] : []),
            ...(ctx.services.marketplace ? [secret("marketplace", ctx.namespace, marketplaceSecret.name, {
                [marketplaceSecret.password]: credentials.marketplacePassword,
            })] : []),
        ];
    }
}

function kebab(camel: string): string {
    return camel.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`);
}
