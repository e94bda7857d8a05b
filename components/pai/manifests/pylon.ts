import { externalImages, PaiContext } from "../context";
import { configMap, container, daemonSet, httpProbe, K8sObject, onMaster, sha256Annotation } from "../objects";
import { logManagerPort } from "./log-manager";
import { restServerPort, webportalPort } from "./rest-server";
import { grafanaPort, prometheusPort, alertManagerPort } from "./monitoring";
import { marketplacePorts } from "./marketplace";
import { legacyDashboards } from "./dashboards";

/** The Secret (type kubernetes.io/tls) with the portal's certificate chain and key, made by PaiServices. */
export const pylonTlsSecret = "pylon-tls";
const tlsDir = "/etc/nginx/tls";

/**
 * Checks of a request's portal login, made by nginx's auth_request before it proxies to a service
 * without a login of its own. The token is the one the webportal keeps in its `token` cookie
 * (src/webportal/src/app/home/index/conn.js), or an Authorization header from API clients.
 * - user: any valid token; GET /api/v2/cluster/sku-types only runs rest-server's token.check
 *   (src/rest-server/src/routes/v2/cluster.js);
 * - admin: an administrator's token; GET /api/v2/group/admingroup/userlist runs token.check and
 *   token.checkAdmin (src/rest-server/src/routes/v2/group.js).
 */
export const portalAuthChecks = {
    user: "/api/v2/cluster/sku-types",
    admin: "/api/v2/group/admingroup/userlist",
};

/**
 * nginx config of the portal entry, as OpenPAI's pylon routed it (src/pylon/deploy/pylon-config/),
 * with what an anonymous client may reach cut down to the login:
 * - HTTPS only: port 80 answers its health check and redirects everything else (upstream's
 *   `return 307 https://...` when `ssl` is set);
 * - rest-server gets the client's address in X-Forwarded-For and X-Real-IP (it trusts the proxy
 *   and rate-limits per client address: src/rest-server/src/config/express.js, rate-limit.js);
 *   the header is set, not appended to, so a client cannot pick its own bucket;
 * - the log route reaches the log-manager port of the layout's nodes only (rest-server hands out
 *   `/log-manager/<node IP>:<port>/...` links: src/rest-server/src/models/v2/job/log.js), instead
 *   of upstream's open `/a/<host>:<port>` proxy;
 * - Prometheus' query API needs a portal login (the webportal's charts call it), the rest of
 *   Prometheus and Alertmanager an administrator's; Grafana keeps its own login;
 * - no `/kubernetes/` route (the webportal reaches Kubernetes through rest-server's
 *   /api/v1/kubernetes, which checks the token itself).
 */
/** pylon's answer to a log route that does not lead to a log-manager of the cluster. */
export const notALogManager = "'openpai: not a log-manager of this cluster\\n'";

export function pylonConfig(ctx: PaiContext): string {
    const master = ctx.master.hostip;
    const restServer = `http://${master}:${restServerPort}`;
    const authCheck = (name: keyof typeof portalAuthChecks) =>
        `location = /openpai-auth/${name} { internal; proxy_pass ${restServer}${portalAuthChecks[name]}; proxy_pass_request_body off; `
        + "proxy_set_header Content-Length \"\"; proxy_set_header Authorization $openpai_authorization; proxy_set_header X-Forwarded-For $remote_addr; }";
    const routes: string[] = [
        "location = /healthz { return 200 'ok'; }",
        authCheck("user"),
        authCheck("admin"),
        `location /rest-server/ { proxy_pass ${restServer}/; proxy_set_header Host $host; proxy_set_header X-Forwarded-For $remote_addr; `
        + "proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Forwarded-Proto https; proxy_read_timeout 300s; client_max_body_size 100m; }",
        `location ~ ^/log-manager/(?<log_node>[0-9.]+):${logManagerPort}/(?<log_path>.*)$ { if ($log_node_known = 0) { return 403 ${notALogManager}; } `
        + `proxy_pass http://$log_node:${logManagerPort}/$log_path$is_args$args; }`,
        `location /log-manager/ { return 403 ${notALogManager}; }`,
    ];
    if (ctx.services.prometheus) {
        routes.push(
            `location /prometheus/api/v1/query { auth_request /openpai-auth/user; proxy_pass http://${master}:${prometheusPort}; }`,
            `location /prometheus/ { auth_request /openpai-auth/admin; proxy_pass http://${master}:${prometheusPort}/prometheus/; }`,
        );
    }
    if (ctx.services.alertManager) {
        routes.push(`location /alert-manager/ { auth_request /openpai-auth/admin; proxy_pass http://${master}:${alertManagerPort}/alert-manager/; }`);
    }
    if (ctx.services.grafana) {
        // The portal's Grafana 4 links (/grafana/dashboard/db/<slug>?var-...) go to the dashboards
        // here (dashboards.ts legacyDashboards), keeping their variables and time range. Only the
        // portal's own pages may show Grafana in a frame.
        routes.push(
            "location ~ ^/grafana/dashboard/db/(?<legacy_dashboard>[A-Za-z0-9_-]+)$ { if ($openpai_dashboard = \"\") { return 404; } "
            + "return 302 /grafana/d/$openpai_dashboard/$legacy_dashboard$is_args$args; }",
            `location /grafana/ { proxy_pass http://${master}:${grafanaPort}/grafana/; proxy_set_header Host $host; `
            + "add_header Content-Security-Policy \"frame-ancestors 'self'\" always; }",
        );
    }
    if (ctx.services.marketplace) {
        routes.push(`location /marketplace/api/ { proxy_pass http://${master}:${marketplacePorts.restserver}/; }`);
        routes.push(`location /marketplace/ { proxy_pass http://${master}:${marketplacePorts.webportal}/; }`);
    }
    routes.push(`location / { proxy_pass http://${master}:${webportalPort}/; proxy_set_header Host $host; }`);
    const nodes = [...new Set([ctx.master.hostip, ...ctx.workers])];
    return [
        "worker_processes auto;",
        "events { worker_connections 1024; }",
        // No resolver: every upstream is an address, and one resolved at start would stop nginx
        // from starting before cluster DNS answers.
        "http {",
        "  server_tokens off;",
        "  map $log_node $log_node_known {",
        "    default 0;",
        ...nodes.map(ip => `    ${ip} 1;`),
        "  }",
        // The portal login: the API client's header, else the webportal's cookie.
        "  map $http_authorization $openpai_authorization {",
        "    default $http_authorization;",
        "    \"\" \"Bearer $cookie_token\";",
        "  }",
        ...(ctx.services.grafana ? [
            "  map $legacy_dashboard $openpai_dashboard {",
            "    default \"\";",
            ...Object.entries(legacyDashboards).map(([slug, uid]) => `    ${slug} ${uid};`),
            "  }",
        ] : []),
        "  server {",
        "    listen 80;",
        "    location = /healthz { return 200 'ok'; }",
        "    location / { return 308 https://$host$request_uri; }",
        "  }",
        "  server {",
        "    listen 443 ssl;",
        `    ssl_certificate ${tlsDir}/tls.crt;`,
        `    ssl_certificate_key ${tlsDir}/tls.key;`,
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        "    ssl_session_cache shared:SSL:10m;",
        "    ssl_session_tickets off;",
        ...routes.map(r => `    ${r}`),
        "  }",
        "}",
        "",
    ].join("\n");
}

/** The single entry point on the master: HTTPS on 443, and 80 redirecting to it. */
export function pylonManifests(ctx: PaiContext): K8sObject[] {
    const config = pylonConfig(ctx);
    return [
        configMap("pylon-config", ctx.namespace, { "nginx.conf": config }),
        daemonSet({
            name: "pylon", namespace: ctx.namespace,
            // A subPath mount does not follow ConfigMap edits, and nginx reads its certificate at
            // start: a route or certificate change rolls the pod.
            podAnnotations: sha256Annotation(`${config}\n${ctx.tls.revision}`),
            podSpec: {
                ...onMaster,
                priorityClassName: "pai-daemon-priority",
                containers: [container({
                    name: "pylon", image: externalImages.nginx,
                    requests: { cpu: "100m", memory: "128Mi" },
                    ports: [{ containerPort: 80, hostPort: 80 }, { containerPort: 443, hostPort: 443 }],
                    readinessProbe: httpProbe("/healthz", 80),
                    volumeMounts: [
                        { name: "config", mountPath: "/etc/nginx/nginx.conf", subPath: "nginx.conf" },
                        { name: "tls", mountPath: tlsDir, readOnly: true },
                    ],
                })],
                volumes: [
                    { name: "config", configMap: { name: "pylon-config" } },
                    { name: "tls", secret: { secretName: pylonTlsSecret, defaultMode: 0o400 } },
                ],
            },
        }),
    ];
}
