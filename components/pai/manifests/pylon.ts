import { externalImages, PaiContext } from "../context";
import { configMap, container, daemonSet, httpProbe, K8sObject, onMaster, sha256Annotation } from "../objects";
import { restServerPort, webportalPort } from "./rest-server";
import { grafanaPort, prometheusPort, alertManagerPort } from "./monitoring";
import { marketplacePorts } from "./marketplace";

/** nginx routes of the portal entry, as OpenPAI's pylon routed them. */
export function pylonConfig(ctx: PaiContext): string {
    const master = ctx.master.hostip;
    const routes: string[] = [
        "location = /healthz { return 200 'ok'; }",
        `location /rest-server/ { proxy_pass http://${master}:${restServerPort}/; proxy_set_header Host $host; proxy_read_timeout 300s; client_max_body_size 100m; }`,
        "location /kubernetes/ { proxy_pass https://kubernetes.default.svc/; proxy_ssl_verify off; }",
        "location ~ ^/log-manager/([^/:]+):([0-9]+)/(.*)$ { proxy_pass http://$1:$2/$3$is_args$args; }",
    ];
    if (ctx.services.prometheus) {
        routes.push(`location /prometheus/ { proxy_pass http://${master}:${prometheusPort}/prometheus/; }`);
    }
    if (ctx.services.alertManager) {
        routes.push(`location /alert-manager/ { proxy_pass http://${master}:${alertManagerPort}/alert-manager/; }`);
    }
    if (ctx.services.grafana) {
        routes.push(`location /grafana/ { proxy_pass http://${master}:${grafanaPort}/grafana/; proxy_set_header Host $host; }`);
    }
    if (ctx.services.marketplace) {
        routes.push(`location /marketplace/api/ { proxy_pass http://${master}:${marketplacePorts.restserver}/; }`);
        routes.push(`location /marketplace/ { proxy_pass http://${master}:${marketplacePorts.webportal}/; }`);
    }
    routes.push(`location / { proxy_pass http://${master}:${webportalPort}/; proxy_set_header Host $host; }`);
    return [
        "worker_processes auto;",
        "events { worker_connections 1024; }",
        // No resolver: every upstream is an address, and one resolved at start would stop nginx
        // from starting before cluster DNS answers.
        "http {",
        "  server {",
        "    listen 80;",
        ...routes.map(r => `    ${r}`),
        "  }",
        "}",
        "",
    ].join("\n");
}

/** The single entry point on port 80 of the master. */
export function pylonManifests(ctx: PaiContext): K8sObject[] {
    const config = pylonConfig(ctx);
    return [
        configMap("pylon-config", ctx.namespace, { "nginx.conf": config }),
        daemonSet({
            name: "pylon", namespace: ctx.namespace,
            // A subPath mount does not follow ConfigMap edits: a route change rolls the pod.
            podAnnotations: sha256Annotation(config),
            podSpec: {
                ...onMaster,
                priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "pylon", image: externalImages.nginx,
                    requests: { cpu: "100m", memory: "128Mi" },
                    ports: [{ containerPort: 80, hostPort: 80 }],
                    readinessProbe: httpProbe("/healthz", 80),
                    volumeMounts: [{ name: "config", mountPath: "/etc/nginx/nginx.conf", subPath: "nginx.conf" }],
                })],
                volumes: [{ name: "config", configMap: { name: "pylon-config" } }],
            },
        }),
    ];
}
