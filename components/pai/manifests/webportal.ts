import { PaiContext } from "../context";
import { container, daemonSet, K8sObject, onMaster } from "../objects";
import { webportalPort } from "./rest-server";

/** The web portal, reached through pylon. */
export function webportalManifests(ctx: PaiContext): K8sObject[] {
    return [daemonSet({
        name: "webportal", namespace: ctx.namespace,
        podSpec: {
            ...onMaster,
            priorityClassName: "pai-daemon-priority",
            containers: [container({
                name: "webportal", image: ctx.paiImage("webportal"),
                requests: { cpu: "100m", memory: "256Mi" },
                ports: [{ containerPort: 8080, hostPort: webportalPort }],
                env: [
                    { name: "REST_SERVER_URI", value: `${ctx.portalUrl}rest-server` },
                    { name: "PROMETHEUS_URI", value: `${ctx.portalUrl}prometheus` },
                    { name: "GRAFANA_URI", value: `${ctx.portalUrl}grafana` },
                    { name: "AUTHN_METHOD", value: "basic" },
                    { name: "CLUSTER_ID", value: ctx.clusterId },
                    { name: "SERVER_PORT", value: "8080" },
                ],
            })],
        },
    })];
}
