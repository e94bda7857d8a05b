import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Engine, must, PreviewStep, projectEntries, projectRoot, Stack } from "../engine/harness";
import { checkOnlyStackConfig, TestHosts } from "./test-hosts";

const workerSteps = ["wait-ready", "preflight", "kernel", "nvidia-driver", "wait-boot", "containerd", "nvidia-toolkit", "kube-packages", "kubeadm-join", "node"];
const masterSteps = ["wait-ready", "preflight", "kernel", "containerd", "kube-packages", "kubeadm-init", "kubeconfig", "node"];

interface StateResource {
    urn: string;
    type: string;
    dependencies?: string[];
    outputs?: Record<string, any>;
}

function changed(steps: PreviewStep[]): string[] {
    return steps.filter(s => s.op !== "same" && s.op !== "read").map(s => `${s.op} ${s.urn.split("::").pop()}`).sort();
}

describe("host provisioning over real SSH on network-namespace hosts (check-only)", function () {
    this.timeout(30 * 60 * 1000);
    let engine: Engine;
    let hosts: TestHosts;
    let all: { name: string; address: string }[];
    let stack: Stack;
    const timings: Record<string, number> = {};

    const commands = (): StateResource[] => {
        const state = JSON.parse(must(stack.run(["stack", "export"])).stdout) as { deployment: { resources: StateResource[] } };
        return state.deployment.resources.filter(r => r.type === "command:remote:Command");
    };
    const scriptsDir = () => path.join(engine.project, "components", "hosts", "scripts");

    before(() => {
        engine = new Engine({ dir: projectRoot, entries: projectEntries, copies: ["index.ts", "components"] });
        hosts = new TestHosts(path.join(engine.dir, "hosts"));
        all = hosts.up(5);
        stack = engine.stack("hosts", checkOnlyStackConfig(all.slice(0, 4), "hosts"), { "openpai:sshPrivateKey": hosts.privateKey() });
    });

    after(() => {
        for (const [name, ms] of Object.entries(timings)) {
            process.stdout.write(`${JSON.stringify({ name, value: ms / 1000, unit: "s" })}\n`);
        }
        try {
            hosts?.down();
        } finally {
            engine?.cleanup();
        }
    });

    it("pulumi up runs every step over SSH on the right host, in order", () => {
        const r = must(stack.run(["up", "--yes", "--skip-preview"]));
        timings.hosts_up_1_master_3_workers = r.ms;
        const cmds = commands();
        const byName = new Map(cmds.map(c => [c.urn.split("::").pop()!, c]));
        for (const [i, host] of all.slice(0, 4).entries()) {
            const steps = i === 0 ? masterSteps : workerSteps;
            steps.forEach((step, j) => {
                const cmd = byName.get(`hosts-hosts-${host.name}-${step}`);
                assert.ok(cmd, `step ${step} of ${host.name} missing`);
                if (j > 0) {
                    assert.ok(cmd.dependencies?.includes(byName.get(`hosts-hosts-${host.name}-${steps[j - 1]}`)!.urn), `${host.name}: ${step} must follow ${steps[j - 1]}`);
                }
            });
            const facts = JSON.parse(byName.get(`hosts-hosts-${host.name}-preflight`)!.outputs!.stdout.split("\n").pop());
            assert.strictEqual(facts.hostname, host.name, "preflight ran on the host itself");
            assert.strictEqual(facts.role, i === 0 ? "master" : "worker");
        }
        const join = byName.get(`hosts-hosts-${all[1].name}-kubeadm-join`)!;
        assert.ok(join.dependencies?.includes(byName.get(`hosts-hosts-${all[0].name}-node`)!.urn), "workers join after the master is ready");
        assert.match(byName.get(`hosts-hosts-${all[1].name}-kubeadm-join`)!.outputs!.stdout, /would run: kubeadm join --config/);
        assert.match(byName.get(`hosts-hosts-${all[1].name}-nvidia-driver`)!.outputs!.stdout, /would install branch 580/);
    });

    it("a second pulumi up changes nothing", () => {
        const r = must(stack.run(["up", "--yes", "--skip-preview", "--expect-no-changes"]));
        timings.hosts_up_no_change = r.ms;
    });

    it("editing one script re-runs only that step, on every host", () => {
        fs.appendFileSync(path.join(scriptsDir(), "kernel.sh"), "log \"kernel step revised\"\n");
        const { result, raw } = stack.preview();
        assert.strictEqual(raw.code, 0, raw.stderr);
        assert.deepStrictEqual(changed(result.steps), all.slice(0, 4).map(h => `update hosts-hosts-${h.name}-kernel`).sort());
        must(stack.run(["up", "--yes", "--skip-preview"]));
        const kernel = commands().filter(c => c.urn.endsWith("-kernel"));
        assert.ok(kernel.every(c => c.outputs!.stdout.includes("kernel step revised")));
    });

    it("adding a worker touches only the new host", () => {
        stack.writeConfig(checkOnlyStackConfig(all, "hosts"));
        const { result, raw } = stack.preview();
        assert.strictEqual(raw.code, 0, raw.stderr);
        const steps = changed(result.steps);
        const newHost = all[4].name;
        assert.deepStrictEqual(steps.filter(s => !s.includes(newHost)).filter(s => !s.includes("pulumi:pulumi:Stack")), []);
        assert.strictEqual(steps.filter(s => s.startsWith("create") && s.includes(newHost)).length, workerSteps.length + 1);
        must(stack.run(["up", "--yes", "--skip-preview"]));
    });

    it("a host taken down during up fails alone while the others complete; the next up converges", async () => {
        // Two steps change on every host: the target goes down right after its first one ran.
        fs.appendFileSync(path.join(scriptsDir(), "kernel.sh"), "log \"kernel step revised again\"\n");
        fs.appendFileSync(path.join(scriptsDir(), "containerd.sh"), "log \"containerd step revised\"\n");
        const target = all[2];
        let stopped = false;
        const failed = await stack.runWatching(["up", "--yes", "--skip-preview", "--continue-on-error"], line => {
            if (!stopped && new RegExp(`hosts-hosts-${target.name}-kernel updated`).test(line)) {
                stopped = true;
                hosts.stop(3);
            }
        });
        assert.ok(stopped, `the target's kernel step never ran:\n${failed.stdout}`);
        assert.notStrictEqual(failed.code, 0, "the run with a host down must fail");
        assert.match(failed.stdout + failed.stderr, new RegExp(`${target.name}-containerd`));
        const containerd = commands().filter(c => c.urn.endsWith("-containerd"));
        assert.strictEqual(containerd.length, all.length);
        for (const c of containerd) {
            const revised = c.outputs!.stdout.includes("containerd step revised");
            assert.strictEqual(revised, !c.urn.includes(target.name), `${c.urn}: revised=${revised}`);
        }
        hosts.start(3);
        must(stack.run(["up", "--yes", "--skip-preview"]));
        must(stack.run(["up", "--yes", "--skip-preview", "--expect-no-changes"]));
    });

    it("no secret appears in plaintext in the state or the output", () => {
        const exported = must(stack.run(["stack", "export"])).stdout;
        const key = hosts.privateKey().split("\n").find(l => l.length > 40)!;
        assert.ok(!exported.includes(key), "the SSH private key is in the state in plaintext");
        const token = must(stack.run(["stack", "export", "--show-secrets"])).stdout.match(/JOIN_TOKEN='([a-z0-9.]+)'/)?.[1];
        assert.ok(token && /^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token), "the join token reaches the join step");
        assert.ok(!exported.includes(token!), "the join token is in the state in plaintext");
        const output = must(stack.run(["up", "--yes", "--skip-preview"]));
        assert.ok(!(output.stdout + output.stderr).includes(token!), "the join token was printed");
    });

    it("pulumi destroy resets every host (kubeadm reset runs)", () => {
        const r = must(stack.run(["destroy", "--yes", "--skip-preview"]));
        for (const host of all.slice(1)) {
            assert.match(r.stdout, new RegExp(`hosts-hosts-${host.name}-node deleted`), `${host.name}'s node drained and deleted`);
            assert.match(r.stdout, new RegExp(`hosts-hosts-${host.name}-kubeadm-join deleted`), `${host.name} reset`);
        }
    });
});
