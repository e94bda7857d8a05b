import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import { hivedForStack, parseStackConfig } from "../../config";
import { paiContext } from "../../components/pai/context";
import { guardedPorts, hostGuardManifests, hostGuardRules } from "../../components/pai/manifests/host-guard";
import { portalAuthChecks, pylonConfig } from "../../components/pai/manifests/pylon";
import { caScript, pemBlocks, serverScript, subjectAltNames } from "../../components/pai/portal-certificate";
import { paiServices } from "../../components/pai/service";
import { K8sObject } from "../../components/pai/objects";
import { layout, rawStack } from "./helpers";
import { upstreamHas } from "./upstream-source";

/**
 * What an anonymous client and a job may reach (issue "Secure by default"), each rule with the
 * upstream fact it rests on, read from OpenPAI v1.8.0's source where the tarball is at hand.
 */
function contextFor(values: Record<string, unknown> = {}, secrets = ["kubeconfig"]) {
    const config = parseStackConfig(rawStack({ layout: layout(2), cluster: { mode: "existing" }, ...values }, secrets));
    return paiContext(config, hivedForStack(config).config);
}

function objects(values: Record<string, unknown> = {}): K8sObject[] {
    const ctx = contextFor(values);
    return Object.values(paiServices).flatMap(s => s.manifests(ctx));
}


describe("pylon: only the login answers an anonymous client", () => {
    const conf = pylonConfig(contextFor());

    it("HTTPS on 443 with the mounted certificate; port 80 only redirects (src/pylon/deploy/pylon-config/nginx.conf.template: return 307 https://)", () => {
        upstreamHas("src/pylon/deploy/pylon-config/nginx.conf.template", /return 307 https:\/\/\$host\$request_uri/);
        const http = conf.slice(conf.indexOf("listen 80;"), conf.indexOf("listen 443"));
        assert.match(http, /location \/ \{ return 308 https:\/\/\$host\$request_uri; \}/);
        assert.doesNotMatch(http, /proxy_pass/, "nothing is proxied over plain HTTP");
        assert.match(conf, /listen 443 ssl;\s+ssl_certificate \/etc\/nginx\/tls\/tls.crt;\s+ssl_certificate_key \/etc\/nginx\/tls\/tls.key;/);
        assert.match(conf, /ssl_protocols TLSv1.2 TLSv1.3;/);
    });

    it("passes the client's address to rest-server, overwriting a client's own header (src/rest-server/src/config/express.js trusts the proxy; rate-limit.js limits per address)", () => {
        upstreamHas("src/rest-server/src/config/express.js", /app\.set\('trust proxy', true\)/);
        upstreamHas("src/rest-server/src/config/rate-limit.js", /api: rateLimit\(/);
        const route = conf.split("\n").find(l => l.includes("location /rest-server/"))!;
        assert.match(route, /proxy_set_header X-Forwarded-For \$remote_addr;/);
        assert.match(route, /proxy_set_header X-Real-IP \$remote_addr;/);
        assert.doesNotMatch(conf, /proxy_add_x_forwarded_for/, "appending would keep a client's forged address first");
    });

    it("the log route reaches the layout's nodes at log-manager's port only (src/rest-server/src/models/v2/job/log.js builds /log-manager/<node IP>:<port>/)", () => {
        upstreamHas("src/rest-server/src/models/v2/job/log.js", /const urlPrefix = `\/log-manager\/\$\{nodeIp\}:\$\{launcherConfig\.logManagerPort\}`/);
        assert.match(conf, /location ~ \^\/log-manager\/\(\?<log_node>\[0-9.\]\+\):9103\/\(\?<log_path>\.\*\)\$ \{ if \(\$log_node_known = 0\) \{ return 403 'openpai: not a log-manager of this cluster\\n'; \}/);
        const map = conf.slice(conf.indexOf("map $log_node"), conf.indexOf("}", conf.indexOf("map $log_node")));
        assert.deepStrictEqual(map.match(/^\s+[0-9.]+ 1;$/gm)!.map(l => l.trim()), ["10.0.0.10 1;", "10.0.1.1 1;", "10.0.1.2 1;"]);
        assert.match(conf, /location \/log-manager\/ \{ return 403 'openpai: not a log-manager/, "anything else under /log-manager/ is refused");
        assert.doesNotMatch(conf, /location ~ \^\/a\//, "no open proxy route like upstream's /a/<host>:<port>");
    });

    it("no /kubernetes/ route: the portal reaches Kubernetes through rest-server, which checks the token (src/rest-server/src/routes/kubernetes.js)", () => {
        upstreamHas("src/rest-server/src/routes/kubernetes.js", /\.get\(token\.check, token\.checkAdmin/);
        assert.doesNotMatch(conf, /\/kubernetes\//);
    });

    it("Prometheus' query API needs a portal login, the rest of Prometheus and Alertmanager an admin's", () => {
        // The webportal keeps its login in the `token` cookie and calls Prometheus from the browser.
        upstreamHas("src/webportal/src/app/home/index/conn.js", /cookies\.set\('token', loginInfo\.token/);
        upstreamHas("src/webportal/src/app/env.js.template", /prometheusUri: '\$\{PROMETHEUS_URI\}\/prometheus'/);
        // The checks: token.check only, and token.check + token.checkAdmin.
        upstreamHas("src/rest-server/src/routes/v2/cluster.js", /route\('\/sku-types'\)\.get\(token\.check, controller\.getSkuTypes\)/);
        upstreamHas("src/rest-server/src/routes/v2/group.js", /route\('\/:groupname\/userlist'\)[\s\S]{0,80}\.get\(token\.check, token\.checkAdmin/);
        assert.deepStrictEqual(portalAuthChecks, { user: "/api/v2/cluster/sku-types", admin: "/api/v2/group/admingroup/userlist" });
        assert.match(conf, /location \/prometheus\/api\/v1\/query \{ auth_request \/openpai-auth\/user;/);
        assert.match(conf, /location \/prometheus\/ \{ auth_request \/openpai-auth\/admin;/);
        assert.match(conf, /location \/alert-manager\/ \{ auth_request \/openpai-auth\/admin;/);
        assert.match(conf, /location = \/openpai-auth\/user \{ internal; proxy_pass http:\/\/10.0.0.10:9186\/api\/v2\/cluster\/sku-types;/);
        assert.match(conf, /"" "Bearer \$cookie_token";/, "the cookie when the client sends no Authorization header");
    });

    it("every proxied route but the portal's own, the login API and Grafana (its own login) sits behind a check", () => {
        const open = conf.split("\n").filter(l => /proxy_pass/.test(l) && !/auth_request|internal;/.test(l))
            .map(l => /location (?:~ |= )?(\S+)/.exec(l)![1]);
        assert.deepStrictEqual(open, ["/rest-server/", "^/log-manager/(?<log_node>[0-9.]+):9103/(?<log_path>.*)$", "/grafana/", "/"]);
    });
});

describe("monitoring and HiveD logins", () => {
    const all = objects();
    const find = (kind: string, name: string): any => all.find(o => o.kind === kind && o.metadata.name === name);

    it("Grafana: anonymous off, no sign-up, the admin password from its Secret", () => {
        const env = find("Deployment", "grafana").spec.template.spec.containers[0].env;
        const byName = Object.fromEntries(env.map((e: any) => [e.name, e]));
        assert.strictEqual(byName.GF_AUTH_ANONYMOUS_ENABLED.value, "false");
        assert.strictEqual(byName.GF_USERS_ALLOW_SIGN_UP.value, "false");
        assert.deepStrictEqual(byName.GF_SECURITY_ADMIN_PASSWORD.valueFrom, { secretKeyRef: { name: "grafana-secrets", key: "admin-password" } });
    });

    it("HiveD's API stays inside the cluster: a ClusterIP Service, no NodePort", () => {
        const svc = find("Service", "hivedscheduler-hs");
        assert.strictEqual(svc.spec.type, "ClusterIP");
        assert.ok(svc.spec.ports.every((p: any) => p.nodePort === undefined));
        assert.ok(all.every(o => o.kind !== "Service" || (o.spec as any).type === "ClusterIP"), "no Service is exposed on the nodes");
    });

    it("Alertmanager runs without a cluster gossip listener", () => {
        assert.ok(find("Deployment", "alertmanager").spec.template.spec.containers[0].args.includes("--cluster.listen-address="));
    });
});

describe("host guard: PAI's internal ports answer the master and PAI's pods only", () => {
    const ctx = contextFor();

    it("guards every internal port the manifests open, on the master and on every node", () => {
        // write-merger listens on every address and checks nobody (src/database-controller/src/write-merger/index.js, app.js).
        upstreamHas("src/database-controller/src/write-merger/index.js", /app\.listen\(port,/);
        const ports = guardedPorts(ctx);
        assert.deepStrictEqual(ports.master, [3000, 5432, 9091, 9093, 9101, 9186, 9286, 9748]);
        assert.deepStrictEqual(ports.everyNode, [111, 9100, 9102, 9103, 10256, 20244, 50051]);
        const hostPorts = objects().flatMap(o => ((o.spec as any)?.template?.spec?.containers ?? []) as any[])
            .flatMap(c => (c.ports ?? []).map((p: any) => p.hostPort ?? p.containerPort)).filter(p => p !== undefined);
        const open = [...new Set(hostPorts)].filter(p => ![...ports.master, ...ports.everyNode].includes(p as number));
        assert.deepStrictEqual(open.sort(), [30096, 443, 80, 9095], "only pylon's ports (and HiveD's and alert-handler's pod ports, behind the pod-network rule) stay open");
        for (const onPodNetwork of ["hivedscheduler-hs", "alert-handler"]) {
            const workload = objects().find(o => o.metadata.name === onPodNetwork && (o.spec as any)?.template) as any;
            assert.ok(!workload.spec.template.spec.hostNetwork && workload.spec.template.spec.containers.every((c: any) => (c.ports ?? []).every((p: any) => !p.hostPort)),
                `${onPodNetwork} answers on the pod network only`);
        }
    });

    it("trusts loopback, replies, the master and the pod network; drops the rest before the hostPort DNAT", () => {
        const rules = hostGuardRules(ctx, "node");
        assert.match(rules, /type filter hook prerouting priority -150; policy accept;/);
        assert.match(rules, /ip saddr \{ 10.0.0.10, 10.200.0.0\/13 \} accept/);
        assert.match(rules, /fib daddr type local tcp dport \{ 111, 9100, 9102, 9103, 10256, 20244, 50051 \} counter drop/);
        // rpcbind (nfs-common's, for NFSv3 locks) answers on UDP too.
        assert.match(rules, /fib daddr type local udp dport 111 counter drop/);
        assert.match(rules, /ip daddr 10.200.0.0\/13 tcp dport != 53 counter drop/);
        assert.match(hostGuardRules(ctx, "master"), /tcp dport \{ 111, 3000, 5432, 9091, 9093, 9100, 9101, 9102, 9103, 9186, 9286, 9748, 10256, 20244, 50051 \}/);
        assert.ok(rules.indexOf("delete table") < rules.indexOf("chain prerouting"), "the table is replaced as a whole");
    });

    it("nft accepts the rules (when nft is installed here)", function () {
        const check = spawnSync("nft", ["--check", "-f", "-"], { input: hostGuardRules(ctx, "master").replace(/^delete table.*$/m, ""), encoding: "utf8" });
        if (check.error) {
            this.skip();
        }
        assert.strictEqual(check.status, 0, check.stderr);
    });

    it("a DaemonSet on every node, host network with NET_ADMIN only, switched off by services.hostGuard", () => {
        const [, ds] = hostGuardManifests(ctx) as any[];
        const pod = ds.spec.template.spec;
        assert.strictEqual(pod.hostNetwork, true);
        assert.deepStrictEqual(pod.tolerations, [{ operator: "Exists" }]);
        assert.deepStrictEqual(pod.containers[0].securityContext, { capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } });
        assert.strictEqual(pod.containers[0].stdin, true, "its shell waits on stdin");
        assert.deepStrictEqual(hostGuardManifests(contextFor({ services: { hostGuard: false } })), []);
    });
});

describe("the portal's certificate", () => {
    const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
    const run = (script: string, env: Record<string, string>) => {
        const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: process.env.PATH, ...env } });
        assert.strictEqual(r.status, 0, r.stderr);
        return pemBlocks(r.stdout);
    };

    it("without openpai:tls, a CA and a certificate for the portal's names it signs", function () {
        if (!hasOpenssl) {
            this.skip();
        }
        const ca = run(caScript(), { OPENPAI_CLUSTER: "lab" });
        const names = ["pai.example.org", "10.0.0.10"];
        const server = run(serverScript(), {
            OPENPAI_CA_CERT: ca.certificates[0], OPENPAI_CA_KEY: ca.key!, OPENPAI_CN: names[0], OPENPAI_SANS: subjectAltNames(names),
        });
        const caCert = new crypto.X509Certificate(ca.certificates[0]);
        const leaf = new crypto.X509Certificate(server.certificates[0]);
        assert.ok(caCert.ca && !leaf.ca);
        assert.ok(leaf.verify(caCert.publicKey), "signed by the CA");
        assert.strictEqual(leaf.checkHost("pai.example.org"), "pai.example.org");
        assert.strictEqual(leaf.checkIP("10.0.0.10"), "10.0.0.10");
        assert.strictEqual(leaf.checkHost("other.example.org"), undefined);
        assert.ok(leaf.checkPrivateKey(crypto.createPrivateKey(server.key!)));
        assert.strictEqual(server.certificates[1], ca.certificates[0], "the chain ends with the CA");
        const days = (Date.parse(leaf.validTo) - Date.now()) / 86400000;
        assert.ok(days > 820 && days <= 825, `${days} days`);
    });

    it("openpai:tls: the certificate must be for the portal's address, valid, and come with its key", function () {
        if (!hasOpenssl) {
            this.skip();
        }
        const ca = run(caScript(), { OPENPAI_CLUSTER: "x" });
        const make = (names: string[]) => run(serverScript(), {
            OPENPAI_CA_CERT: ca.certificates[0], OPENPAI_CA_KEY: ca.key!, OPENPAI_CN: names[0], OPENPAI_SANS: subjectAltNames(names),
        }).certificates[0];
        const base = { layout: layout(2), cluster: { mode: "existing", portalHost: "pai.example.org" } };
        assert.ok(parseStackConfig(rawStack({ ...base, tls: { certificate: make(["pai.example.org"]) } }, ["kubeconfig", "tlsKey"])).tls);
        assert.throws(() => parseStackConfig(rawStack({ ...base, tls: { certificate: make(["other.example.org"]) } }, ["kubeconfig", "tlsKey"])),
            /tls.certificate: is for DNS:other.example.org, not for the portal's address pai.example.org/);
        assert.throws(() => parseStackConfig(rawStack({ ...base, tls: { certificate: make(["pai.example.org"]) } }, ["kubeconfig"])),
            /tlsKey: tls.certificate is set: also give its key/);
        assert.throws(() => parseStackConfig(rawStack({ ...base, tls: { certificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" } }, ["kubeconfig", "tlsKey"])),
            /tls.certificate: cannot be read as a PEM certificate/);
    });

    it("the portal's address is https:// and its certificate covers the portal host and the master", () => {
        const ctx = contextFor({ cluster: { mode: "existing", portalHost: "pai.example.org" } });
        assert.strictEqual(ctx.portalUrl, "https://pai.example.org/");
        assert.deepStrictEqual(ctx.tls.names, ["pai.example.org", "10.0.0.10"]);
        assert.strictEqual(ctx.tls.source, "generated");
    });
});
