import { PaiContext } from "../context";
import { container, daemonSet, httpProbe, K8sObject, onMaster } from "../objects";
import { webportalPort } from "./rest-server";
import { nodeExporterPort } from "./monitoring";

/**
 * The web portal, reached through pylon. At start it renders dist/env.js from these variables
 * (src/webportal/src/app/env.js.template, `npm start`'s prestart): the portal's own REST and
 * Prometheus URLs (it appends /prometheus itself), and the k8s launcher with HiveD, which switch
 * on the VC and SKU choices of the job submission page.
 */
export function webportalManifests(ctx: PaiContext): K8sObject[] {
    const base = ctx.portalUrl.replace(/\/$/, "");
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
                    { name: "REST_SERVER_URI", value: `${base}/rest-server` },
                    { name: "PROMETHEUS_URI", value: base },
                    { name: "GRAFANA_URI", value: `${base}/grafana` },
                    { name: "MARKETPLACE_API_URI", value: `${base}/marketplace/api` },
                    { name: "AUTHN_METHOD", value: "basic" },
                    { name: "LAUNCHER_TYPE", value: "k8s" },
                    { name: "LAUNCHER_SCHEDULER", value: "hivedscheduler" },
                    { name: "JOB_HISTORY", value: "true" },
                    { name: "EXPORTER_PORT", value: String(nodeExporterPort) },
                    { name: "PROM_SCRAPE_TIME", value: "300s" },
                    { name: "ENABLE_JOB_TRANSFER", value: "false" },
                    { name: "WEBPORTAL_PLUGINS", value: "[]" },
                    { name: "SERVER_PORT", value: "8080" },
                ],
                readinessProbe: httpProbe("/", 8080),
            })],
        },
    })];
}
