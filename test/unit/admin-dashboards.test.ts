import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { hivedForStack, parseStackConfig } from "../../config";
import { paiContext } from "../../components/pai/context";
import { clusterDashboard, dashboardsPath, grafanaDatasourceUid, jobDashboard, legacyDashboards } from "../../components/pai/manifests/dashboards";
import { pylonConfig } from "../../components/pai/manifests/pylon";
import { paiServices } from "../../components/pai/service";
import { K8sObject } from "../../components/pai/objects";
import { layout, rawStack } from "./helpers";
import { openPaiFile, upstreamHas } from "./upstream-source";
import { exporterSeries, metricNames, seriesOfExporters } from "./exporter-series";

function contextFor(values: Record<string, unknown> = {}) {
    const config = parseStackConfig(rawStack({ layout: layout(2), ...values }, ["sshPrivateKey"]));
    return paiContext(config, hivedForStack(config).config);
}

function objects(values: Record<string, unknown> = {}): K8sObject[] {
    const ctx = contextFor(values);
    return Object.values(paiServices).flatMap(s => s.manifests(ctx));
}


/** Every PromQL expression of a dashboard's panels. */
function queries(dashboard: { panels: Record<string, unknown>[] }): string[] {
    return dashboard.panels.flatMap(p => (p.targets as { expr: string }[]).map(t => t.expr));
}

describe("the series the exporters give (test/unit/exporter-series.ts against OpenPAI v1.8.0's source)", () => {
    it("watchdog's (src/watchdog/src/pkg/watchdog/prom_metric_collector.go)", () => {
        for (const metric of exporterSeries.watchdog) {
            upstreamHas("src/watchdog/src/pkg/watchdog/prom_metric_collector.go", `"${metric}"`);
        }
    });

    it("job-exporter's (src/job-exporter/src/collector.py; counters get prometheus_client's _total)", () => {
        const text = openPaiFile("src/job-exporter/src/collector.py");
        for (const metric of exporterSeries.jobExporter) {
            const name = metric.replace(/_total$/, "");
            const templated = name.replace(/^(task|service)_/, "{0}_");
            assert.ok(text === undefined || text.includes(`"${name}"`) || text.includes(`"${templated}"`), `collector.py no longer gives ${metric}`);
        }
    });
});

describe("Grafana dashboards as code (the portal's metric links land on them)", () => {
    const cluster = clusterDashboard();
    const job = jobDashboard();

    it("answer the portal's links by their Grafana 4 slugs and variables", () => {
        upstreamHas("src/webportal/src/app/job/job-view/fabric/job-detail/conn.js", "/dashboard/db/joblevelmetrics?var-job=${");
        upstreamHas("src/webportal/src/app/dashboard/dashboard.component.ejs", "/dashboard/db/pai_clusterview");
        upstreamHas("src/webportal/src/app/cluster-view/hardware/hardware-detail.component.ejs", "/dashboard/db/pai_nodeview?var-node=<%= instance %>");
        // The node link passes the address alone (hardware.component.ejs: metric.instance.split(":")[0]).
        upstreamHas("src/webportal/src/app/cluster-view/hardware/hardware.component.ejs", "const ipAddress = metric.instance.split(\":\")[0];");
        assert.deepStrictEqual(legacyDashboards, { joblevelmetrics: job.uid, pai_clusterview: cluster.uid, pai_nodeview: cluster.uid });
        assert.deepStrictEqual(job.templating.list.map(v => v.name), ["job"]);
        assert.deepStrictEqual(cluster.templating.list.map(v => v.name), ["node"]);
        assert.match(JSON.stringify(cluster.templating.list[0]), /label_values\(node_uname_info, host_ip\)/);
    });

    it("every panel queries the provisioned data source for series the exporters give", () => {
        const known = seriesOfExporters();
        for (const dashboard of [cluster, job]) {
            for (const panel of dashboard.panels) {
                assert.deepStrictEqual(panel.datasource, { type: "prometheus", uid: grafanaDatasourceUid });
                for (const target of panel.targets as { expr: string; datasource: unknown }[]) {
                    assert.deepStrictEqual(target.datasource, panel.datasource);
                    for (const metric of metricNames(target.expr)) {
                        assert.ok(known.has(metric), `${dashboard.uid} "${panel.title}" reads ${metric}, which no exporter gives`);
                    }
                }
            }
        }
        assert.deepStrictEqual(queries(job).filter(q => !q.includes("job_name=\"$job\"")), [], "every job panel is about $job");
        assert.deepStrictEqual(queries(cluster).filter(q => /\b(node|task|nvidiasmi)_/.test(q) && !q.includes("host_ip=~\"$node\"")), [], "every node panel follows $node");
    });

    it("the job dashboard shows each task's CPU, memory and GPUs, as the portal's job metrics page did (src/grafana/deploy/grafana-configuration/pai-jobview-dashboard.json.template)", () => {
        for (const series of ["task_cpu_percent", "task_mem_usage_byte", "task_gpu_percent", "task_gpu_mem_percent"]) {
            upstreamHas("src/grafana/deploy/grafana-configuration/pai-jobview-dashboard.json.template", series);
            assert.ok(queries(job).some(q => q.startsWith(series)), series);
        }
    });

    it("panels do not overlap", () => {
        for (const dashboard of [cluster, job]) {
            const boxes = dashboard.panels.map(p => p.gridPos as { x: number; y: number; w: number; h: number });
            boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => assert.ok(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y,
                `${dashboard.uid}: panels at ${JSON.stringify(a)} and ${JSON.stringify(b)} overlap`)));
            assert.ok(boxes.every(b => b.x + b.w <= 24));
        }
    });

    it("are provisioned from files, with the data source's fixed uid, and the cluster dashboard as Grafana's home", () => {
        const all = objects();
        const datasources = yaml.load((all.find(o => o.metadata.name === "grafana-datasources") as any).data["prometheus.yaml"]) as any;
        assert.strictEqual(datasources.datasources[0].uid, grafanaDatasourceUid);
        const files = (all.find(o => o.metadata.name === "grafana-dashboards") as any).data;
        assert.deepStrictEqual(JSON.parse(files["openpai-job.json"]).uid, "openpai-job");
        assert.deepStrictEqual((yaml.load(files["openpai.yaml"]) as any).providers[0].options, { path: dashboardsPath });
        const grafana = (all.find(o => o.kind === "Deployment" && o.metadata.name === "grafana") as any).spec.template.spec.containers[0];
        const env = Object.fromEntries(grafana.env.filter((e: any) => e.value).map((e: any) => [e.name, e.value]));
        assert.strictEqual(env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, `${dashboardsPath}/openpai-cluster.json`);
        assert.strictEqual(env.GF_SECURITY_ALLOW_EMBEDDING, "true");
        assert.deepStrictEqual(grafana.volumeMounts.map((m: any) => m.mountPath), ["/etc/grafana/provisioning/datasources", "/etc/grafana/provisioning/dashboards", dashboardsPath]);
    });
});

/** nginx with pylon's config on local ports (80 and 443 moved), the certificate a throwaway one. */
class LocalPylon {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "pylon-"));
    private child?: ReturnType<typeof spawn>;

    config(ctxValues: Record<string, unknown>, port: number): string {
        spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=pylon",
            "-keyout", path.join(this.dir, "tls.key"), "-out", path.join(this.dir, "tls.crt")]);
        const conf = pylonConfig(contextFor(ctxValues))
            .replace("listen 80;", `listen 127.0.0.1:${port};`).replace("listen 443 ssl;", `listen 127.0.0.1:${port + 1} ssl;`)
            .replaceAll("/etc/nginx/tls/", `${this.dir}/`);
        const file = path.join(this.dir, "nginx.conf");
        fs.writeFileSync(file, conf);
        return file;
    }

    check(file: string): { status: number | null; out: string } {
        const r = spawnSync("nginx", ["-t", "-c", file, "-p", this.dir, "-e", path.join(this.dir, "error.log"), "-g", `pid ${this.dir}/nginx.pid;`], { encoding: "utf8" });
        return { status: r.status, out: `${r.stdout}${r.stderr}` };
    }

    async start(file: string, port: number): Promise<void> {
        this.child = spawn("nginx", ["-c", file, "-p", this.dir, "-e", path.join(this.dir, "error.log"), "-g", `daemon off; pid ${this.dir}/nginx.pid;`], { stdio: "ignore" });
        for (let i = 0; i < 50; i++) {
            const up = await new Promise<boolean>(resolve => http.get(`http://127.0.0.1:${port}/healthz`, res => resolve(res.statusCode === 200)).on("error", () => resolve(false)));
            if (up) {
                return;
            }
            await new Promise(resolve => setTimeout(resolve, 100));
        }
        throw new Error(`nginx did not start: ${fs.readFileSync(path.join(this.dir, "error.log"), "utf8")}`);
    }

    stop(): void {
        this.child?.kill();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

describe("pylon sends the portal's Grafana links to the dashboards (real nginx, where it is installed)", () => {
    const pylon = new LocalPylon();
    const port = 18480 + (process.pid % 500) * 2;

    before(function () {
        if (spawnSync("nginx", ["-v"]).error || spawnSync("openssl", ["version"]).error) {
            this.skip();
        }
    });
    after(() => pylon.stop());

    it("nginx accepts the config with and without Grafana", () => {
        for (const grafana of [true, false]) {
            const r = pylon.check(pylon.config({ services: { grafana } }, port));
            assert.strictEqual(r.status, 0, r.out);
        }
    });

    it("redirects /grafana/dashboard/db/<slug> with its variables and time range; an unknown slug is 404; Grafana may be framed by the portal only", async () => {
        await pylon.start(pylon.config({}, port), port);
        const get = (url: string) => new Promise<http.IncomingMessage>((resolve, reject) =>
            require("https").get(`https://127.0.0.1:${port + 1}${url}`, { rejectUnauthorized: false }, resolve).on("error", reject));
        const job = await get("/grafana/dashboard/db/joblevelmetrics?var-job=alice~train&from=1700000000000&to=1700000600000");
        assert.strictEqual(job.statusCode, 302);
        assert.strictEqual(job.headers.location, `https://127.0.0.1:${port + 1}/grafana/d/openpai-job/joblevelmetrics?var-job=alice~train&from=1700000000000&to=1700000600000`);
        const node = await get("/grafana/dashboard/db/pai_nodeview?var-node=10.0.1.1");
        assert.match(node.headers.location ?? "", /\/grafana\/d\/openpai-cluster\/pai_nodeview\?var-node=10\.0\.1\.1$/);
        assert.strictEqual((await get("/grafana/dashboard/db/other")).statusCode, 404);
        assert.match(pylonConfig(contextFor()), /location \/grafana\/ \{[^}]*add_header Content-Security-Policy "frame-ancestors 'self'" always;/);
    });
});
