import * as assert from "assert";
import { ConfigError, parseStackConfig } from "../../config";
import { layout, rawStack } from "./helpers";

function problems(values: Record<string, unknown>, secrets?: string[]): { path: string; message: string }[] {
    try {
        parseStackConfig(rawStack(values, secrets));
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        return err.issues;
    }
    return [];
}

function expectProblem(values: Record<string, unknown>, path: string, text: RegExp, secrets?: string[]): void {
    const found = problems(values, secrets);
    assert.ok(found.some(p => p.path === path && text.test(p.message)),
        `expected ${path} ~ ${text}, got ${JSON.stringify(found, null, 1)}`);
}

describe("stack config", () => {
    it("applies defaults in one place", () => {
        const config = parseStackConfig(rawStack({ layout: layout() }));
        assert.strictEqual(config.cluster.mode, "kubeadm");
        assert.strictEqual(config.cluster.paiVersion, "v1.8.0");
        assert.strictEqual(config.cluster.podCidr, "10.200.0.0/13");
        assert.strictEqual(config.cluster.serviceCidr, "10.192.0.0/13");
        assert.deepStrictEqual(config.cluster.registry, { domain: "docker.io", namespace: "openpai" });
        assert.deepStrictEqual(config.ssh, { user: "ubuntu", port: 22, dialAttempts: 30 });
        assert.strictEqual(config.services.prometheus, true);
        assert.strictEqual(config.services.marketplace, false);
        assert.strictEqual(config.adminUser, "admin");
        assert.strictEqual(config.layout["machine-list"][1]["pai-worker"], true);
        assert.strictEqual(config.layout["machine-list"][1]["pai-master"], false);
    });

    it("accepts object values as the JSON text Pulumi hands to programs", () => {
        const config = parseStackConfig(rawStack({ layout: JSON.stringify(layout()), cluster: JSON.stringify({ name: "lab" }) }));
        assert.strictEqual(config.cluster.name, "lab");
    });

    it("accepts OpenPAI's \"true\"/\"false\" strings in the layout", () => {
        const l = layout();
        l["machine-list"][0]["pai-master"] = "true";
        l["machine-list"][1]["pai-worker"] = "true";
        l["machine-list"][1]["pai-storage"] = "false";
        assert.strictEqual(parseStackConfig(rawStack({ layout: l })).layout["machine-list"][0]["pai-master"], true);
    });

    describe("layout rules (OpenPAI's layout schema)", () => {
        it("hostnames must be lowercase DNS-1123", () => {
            const l = layout();
            l["machine-list"][2].hostname = "Worker_1";
            expectProblem({ layout: l }, "layout.machine-list[2].hostname", /lowercase RFC 1123/);
        });
        it("IPs must be valid IPv4", () => {
            const l = layout();
            l["machine-list"][2].hostip = "10.0.0.300";
            expectProblem({ layout: l }, "layout.machine-list[2].hostip", /IPv4/);
        });
        it("hostnames and IPs must be unique", () => {
            const l = layout();
            l["machine-list"][2].hostname = "pai-worker-0";
            l["machine-list"][2].hostip = "10.0.1.1";
            expectProblem({ layout: l }, "layout.machine-list[2].hostname", /duplicate hostname 'pai-worker-0' \(also machine-list\[1\]\)/);
            expectProblem({ layout: l }, "layout.machine-list[2].hostip", /duplicate hostip '10.0.1.1'/);
        });
        it("machine-type must be a known SKU", () => {
            const l = layout();
            l["machine-list"][1]["machine-type"] = "gpu-machin";
            expectProblem({ layout: l }, "layout.machine-list[1].machine-type", /unknown machine-type 'gpu-machin': use one of master-machine, gpu-machine/);
        });
        it("exactly one master", () => {
            const l = layout();
            l["machine-list"][0]["pai-master"] = false;
            expectProblem({ layout: l }, "layout.machine-list", /exactly one machine must have pai-master: true \(found 0/);
            const two = layout();
            two["machine-list"][1] = { ...two["machine-list"][1], "pai-master": true, "pai-worker": false };
            expectProblem({ layout: two }, "layout.machine-list", /found 2: pai-master, pai-worker-0/);
        });
        it("at least one worker", () => {
            expectProblem({ layout: layout(0) }, "layout.machine-list", /at least one machine must have pai-worker: true/);
        });
        it("the master is not a worker", () => {
            const l = layout();
            l["machine-list"][0]["pai-worker"] = true;
            expectProblem({ layout: l }, "layout.machine-list[0].pai-worker", /master must not be a worker/);
        });
        it("GPU count is a positive integer", () => {
            const l = layout();
            l["machine-sku"]["gpu-machine"]["computing-device"].count = 0;
            expectProblem({ layout: l }, "layout.machine-sku.gpu-machine.computing-device.count", /at least 1/);
            l["machine-sku"]["gpu-machine"]["computing-device"].count = 2.5;
            expectProblem({ layout: l }, "layout.machine-sku.gpu-machine.computing-device.count", /whole number/);
        });
        it("worker SKU names whose generated cell types collide are refused (gpu beside gpu-NODE, x beside x-NODE-POOL)", () => {
            for (const [base, clash] of [["gpu", "gpu-NODE"], ["x", "x-NODE-POOL"]]) {
                const l = layout(1);
                l["machine-sku"][base] = l["machine-sku"]["gpu-machine"];
                l["machine-sku"][clash] = l["machine-sku"]["gpu-machine"];
                l["machine-list"].push({ hostname: "w-a", hostip: "10.9.0.1", "machine-type": base, "pai-worker": true },
                    { hostname: "w-b", hostip: "10.9.0.2", "machine-type": clash, "pai-worker": true });
                expectProblem({ layout: l }, `layout.machine-sku.${clash}`, new RegExp(`cell type generated for worker SKU '${base}'.*rename one`));
            }
            const full = layout(1);
            full["machine-sku"]["gpu-machine-NODE"] = full["machine-sku"]["gpu-machine"];
            full["machine-list"].push({ hostname: "w-b", hostip: "10.9.0.2", "machine-type": "gpu-machine-NODE", "pai-worker": true });
            assert.ok(!problems({ layout: full, hived: { physicalCluster: {} } }).some(p => /cell type generated/.test(p.message)),
                "a full hived config is not generated from the SKU names");
        });
        it("a GPU SKU with fewer vCPUs than GPUs after the daemons is refused, with the numbers", () => {
            const l = layout(1);
            l["machine-sku"]["gpu-machine"].cpu.vcore = 8;
            expectProblem({ layout: l }, "layout.machine-sku.gpu-machine.cpu.vcore",
                /8 vCPUs for 8 GPUs leaves 7.2 vCPUs left to jobs after the pods on every worker \(0.72\).*0 CPUs.*at least 9 vCPUs/);
            l["machine-sku"]["gpu-machine"].cpu.vcore = 9;
            assert.deepStrictEqual(problems({ layout: l }), []);
        });
        it("a CPU-only worker SKU with no whole vCPU left to jobs is refused", () => {
            const l = layout(1);
            l["machine-sku"]["tiny"] = { mem: "4Gi", cpu: { vcore: 1 } };
            l["machine-list"].push({ hostname: "tiny-0", hostip: "10.9.0.1", "machine-type": "tiny", "pai-worker": true });
            expectProblem({ layout: l }, "layout.machine-sku.tiny.cpu.vcore", /no whole vCPU cell for jobs; give the SKU at least 2 vCPUs/);
        });
        it("memory is a quantity and unknown keys are named", () => {
            const l = layout();
            l["machine-sku"]["gpu-machine"].mem = "lots";
            l["machine-sku"]["gpu-machine"].gpus = 8;
            expectProblem({ layout: l }, "layout.machine-sku.gpu-machine.mem", /memory quantity/);
            expectProblem({ layout: l }, "layout.machine-sku.gpu-machine", /unknown key 'gpus'/);
        });
        it("a missing layout is reported as required", () => {
            expectProblem({}, "layout", /is required/);
        });
    });

    describe("cluster, ssh and services", () => {
        it("mode, versions, CIDRs and mirrors are checked", () => {
            const found = problems({ layout: layout(), cluster: {
                mode: "managed", paiVersion: "latest", kubernetesVersion: "1.34", podCidr: "10.200.0.0", registryMirrors: ["mirror.local"],
            } });
            const paths = found.map(p => p.path);
            for (const p of ["cluster.mode", "cluster.paiVersion", "cluster.kubernetesVersion", "cluster.podCidr", "cluster.registryMirrors[0]"]) {
                assert.ok(paths.includes(p), `expected a problem at ${p}: ${paths}`);
            }
        });
        it("pod and service CIDRs must not overlap", () => {
            expectProblem({ layout: layout(), cluster: { podCidr: "10.0.0.0/8", serviceCidr: "10.96.0.0/12" } }, "cluster.serviceCidr", /overlaps cluster.podCidr/);
        });
        it("ssh port range and unknown keys", () => {
            expectProblem({ layout: layout(), ssh: { port: 70000 } }, "ssh.port", /.+/);
            expectProblem({ layout: layout(), ssh: { usr: "x" } }, "ssh", /unknown key 'usr'/);
        });
        it("services are booleans and unknown services are named", () => {
            expectProblem({ layout: layout(), services: { grafana: "yes" } }, "services.grafana", /.+/);
            expectProblem({ layout: layout(), services: { prometeus: true } }, "services", /unknown key 'prometeus'/);
        });
        it("unknown top-level keys are named", () => {
            expectProblem({ layout: layout(), virtualCluster: {} }, "virtualCluster", /unknown key openpai:virtualCluster/);
        });
    });

    describe("secrets", () => {
        it("kubeadm mode needs an SSH key or password as a secret", () => {
            expectProblem({ layout: layout() }, "sshPrivateKey", /pulumi config set --secret openpai:sshPrivateKey/, []);
        });
        it("a credential stored in plain text is refused", () => {
            const raw = rawStack({ layout: layout() });
            raw.sshPrivateKey = { value: "-----BEGIN", secret: false };
            assert.throws(() => parseStackConfig(raw), (err: ConfigError) =>
                err.issues.some(i => i.path === "sshPrivateKey" && /must be a secret/.test(i.message)) && !err.message.includes("-----BEGIN"));
        });
        it("existing mode needs a kubeconfig, not an SSH key", () => {
            expectProblem({ layout: layout(), cluster: { mode: "existing" } }, "kubeconfig", /existing mode needs/, []);
            assert.doesNotThrow(() => parseStackConfig(rawStack({ layout: layout(), cluster: { mode: "existing" } }, ["kubeconfig"])));
            assert.doesNotThrow(() => parseStackConfig(rawStack({ layout: layout(), cluster: { mode: "existing", kubeconfigPath: "/k" } }, [])));
        });
        it("a registry user needs the registry password secret", () => {
            expectProblem({ layout: layout(), cluster: { registry: { username: "bot" } } }, "registryPassword", /registryPassword/);
        });
        it("missing secrets can be deferred for a stack file being prepared", () => {
            assert.doesNotThrow(() => parseStackConfig(rawStack({ layout: layout() }, []), "f", { requireSecrets: false }));
        });
    });

    describe("virtual cluster quotas", () => {
        it("name a worker SKU", () => {
            expectProblem({ layout: layout(), virtualClusters: { vc1: { "master-machine": 1 } } }, "virtualClusters.vc1.master-machine", /no worker has machine-type 'master-machine'/);
        });
        it("VC names are DNS-1123 labels", () => {
            expectProblem({ layout: layout(), virtualClusters: { VC1: { "gpu-machine": 1 } } }, "virtualClusters.VC1", /DNS-1123/);
        });
        it("cannot ask for more than the layout has", () => {
            expectProblem({ layout: layout(), virtualClusters: { a: { "gpu-machine": 2 }, b: { "gpu-machine": { cells: 1 } } } }, "virtualClusters", /ask for 17 GPUs of machine-type gpu-machine but the layout has 16/);
        });
        it("pinned hosts are workers of the SKU, pinned once", () => {
            const found = problems({ layout: layout(), virtualClusters: {
                a: { "gpu-machine": { pinned: ["pai-worker-0", "pai-master"] } },
                b: { "gpu-machine": { pinned: ["pai-worker-0"] } },
            } });
            assert.ok(found.some(p => p.path === "virtualClusters.a.gpu-machine.pinned[1]" && /not a worker/.test(p.message)));
            assert.ok(found.some(p => p.path === "virtualClusters.b.gpu-machine.pinned[0]" && /already pinned to VC a/.test(p.message)));
        });
        it("quotas and a full hived config exclude each other", () => {
            expectProblem({ layout: layout(), virtualClusters: { a: { "gpu-machine": 1 } }, hived: { physicalCluster: {} } }, "hived", /either virtualClusters .* or a full hived config/);
        });
    });

    it("reports every problem at once, never with a stack trace", () => {
        const l = layout();
        l["machine-list"][1].hostip = "nope";
        l["machine-list"][2].hostname = "BAD";
        try {
            parseStackConfig(rawStack({ layout: l, cluster: { mode: "x" } }));
            assert.fail("expected an error");
        } catch (err) {
            const message = (err as Error).message;
            assert.match(message, /3 problems found/);
            assert.doesNotMatch(message, /\n\s+at /);
        }
    });
});
