import { PaiContext } from "../context";
import { container, daemonSet, K8sObject, onMaster, secretEnv } from "../objects";
import { databaseSecret } from "./database";

export const marketplacePorts = { restserver: 9292, webportal: 9293 };

/** Optional marketplace (job templates), off by default; it shares PAI's PostgreSQL. */
export function marketplaceManifests(ctx: PaiContext): K8sObject[] {
    if (!ctx.services.marketplace) {
        return [];
    }
    const service = (name: string, port: number, env: Record<string, unknown>[]) => daemonSet({
        name: `marketplace-${name}`, namespace: ctx.namespace,
        podSpec: {
            ...onMaster, priorityClassName: "pai-daemon-priority",
            containers: [container({
                name, image: ctx.paiImage(`marketplace-${name}`),
                requests: { cpu: "100m", memory: "256Mi" },
                ports: [{ containerPort: 8080, hostPort: port }],
                env,
            })],
        },
    });
    return [
        service("restserver", marketplacePorts.restserver, [
            secretEnv("DB_CONNECTION_STR", databaseSecret.name, databaseSecret.connection),
            { name: "REST_SERVER_URI", value: `${ctx.portalUrl}rest-server` },
        ]),
        service("webportal", marketplacePorts.webportal, [{ name: "MARKETPLACE_API_URI", value: `${ctx.portalUrl}marketplace/api` }]),
    ];
}
