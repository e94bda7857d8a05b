import * as assert from "assert";
import { spawnSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../config";
import { OpenPaiCluster } from "../../components/cluster";
import { inlineStep, renderStep } from "../../components/hosts/scripts";
import { layout, rawStack } from "./helpers";

describe("host step scripts", () => {
    it("render settings, the shared helpers and the step, quoting values", () => {
        const text = renderStep("kubeadm-join", true, { JOIN_TOKEN: "abc.def", EXPECTED_HOSTNAME: "it's" });
        assert.match(text, /^#!\/usr\/bin\/env bash\nset -euo pipefail\nexport STEP='kubeadm-join'\nexport CHECK_ONLY='1'\n/);
        assert.match(text, /export EXPECTED_HOSTNAME='it'"'"'s'/);
        assert.match(text, /write_file\(\) \{/);
        assert.match(text, /kind: JoinConfiguration/);
    });

    it("run in check-only mode without changing anything, printing what they would do", () => {
        const text = renderStep("kernel", true);
        const r = spawnSync("bash", ["-s"], { input: text, encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /\[kernel\] kernel prerequisites in place/);
        assert.doesNotMatch(r.stdout, /changed:/);
    });

    it("preflight reports unmet requirements in check-only mode and fails in apply mode", () => {
        const settings = { EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: 1, SKU_VCORE: 1, GPU_COUNT: 0, ROLE: "worker" };
        const check = spawnSync("bash", ["-s"], { input: renderStep("preflight", true, settings), encoding: "utf8" });
        assert.strictEqual(check.status, 0, check.stderr);
        assert.match(check.stdout, /would fail: hostname is '.*' but the layout says 'no-such-host'/);
        const facts = JSON.parse(check.stdout.trim().split("\n").pop()!);
        assert.ok(facts.problems >= 1 && facts.vcpus >= 1 && facts.memMb > 0);
        const apply = spawnSync("bash", ["-s"], { input: renderStep("preflight", false, settings), encoding: "utf8" });
        assert.strictEqual(apply.status, 1);
        assert.match(apply.stderr, /error: .*the layout says 'no-such-host'/);
    });

    it("inline a step for delete commands, which have no stdin", () => {
        const r = spawnSync("bash", ["-c", inlineStep(renderStep("kubeadm-reset", true))], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /\[kubeadm-reset\]/);
    });
});

describe("OpenPaiCluster in kubeadm mode (mocks)", () => {
    const registered: { type: string; name: string; inputs: any; dependencies: string[] }[] = [];

    before(async () => {
        await pulumi.runtime.setMocks({
            newResource: args => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs, dependencies: [] });
                const state = args.type.startsWith("random:") ? { ...args.inputs, result: `r-${args.name.slice(-6)}` }
                    : args.type === "command:remote:Command" ? { ...args.inputs, stdout: args.name.endsWith("kubeadm-init") ? "ca_cert_hash=sha256:abc" : "" }
                        : args.inputs;
                return { id: `${args.name}-id`, state };
            },
            call: args => args.inputs,
        }, "openpai", "lab", false);
        const l = layout(2);
        l["machine-list"].push({ hostname: "cpu-0", hostip: "10.0.9.1", "machine-type": "master-machine", "pai-worker": true });
        const config = parseStackConfig(rawStack({ layout: l, cluster: { name: "lab" }, devBox: { host: "10.0.0.2" } }));
        new OpenPaiCluster("lab", { config, secrets: { sshPrivateKey: pulumi.secret("KEY") } });
        await new Promise(resolve => setTimeout(resolve, 500));
    });

    const commands = () => registered.filter(r => r.type === "command:remote:Command");

    it("declares the step chain per host, GPU steps only on GPU workers", () => {
        const names = commands().map(c => c.name);
        for (const step of ["wait-ready", "preflight", "kernel", "containerd", "kube-packages", "kubeadm-init", "kubeconfig", "node"]) {
            assert.ok(names.includes(`lab-hosts-pai-master-${step}`), `master ${step}`);
        }
        for (const step of ["nvidia-driver", "wait-boot", "nvidia-toolkit", "kubeadm-join", "node"]) {
            assert.ok(names.includes(`lab-hosts-pai-worker-0-${step}`), `GPU worker ${step}`);
        }
        assert.ok(names.includes("lab-hosts-cpu-0-kubeadm-join"));
        assert.ok(!names.includes("lab-hosts-cpu-0-nvidia-driver"), "no driver on a CPU worker");
        assert.ok(names.includes("lab-hosts-devbox-setup"));
        assert.ok(registered.some(r => r.type === "openpai:hosts:MasterHost") && registered.some(r => r.type === "openpai:hosts:WorkerHost")
            && registered.some(r => r.type === "openpai:hosts:DevBox"));
    });

    it("sends scripts on stdin, keeps connections and the join token secret, retries dials", () => {
        const join = commands().find(c => c.name === "lab-hosts-pai-worker-0-kubeadm-join")!;
        assert.strictEqual(join.inputs.create, "bash -s");
        const secretSig = "4dabf18193072939515e22adb298388d";
        assert.ok(join.inputs.stdin[secretSig], "stdin holding the join token is a secret");
        assert.ok(join.inputs.connection[secretSig], "the connection is a secret");
        assert.strictEqual(join.inputs.connection.value.dialErrorLimit, 30);
        assert.match(join.inputs.delete, /STEP='kubeadm-reset'/);
        const kernel = commands().find(c => c.name === "lab-hosts-pai-worker-0-kernel")!;
        assert.ok(!kernel.inputs.stdin[secretSig], "a plain step stays reviewable in previews");
    });

    it("drains the node on removal from the master", () => {
        const node = commands().find(c => c.name === "lab-hosts-pai-worker-0-node")!;
        assert.strictEqual(node.inputs.connection.value.host, "10.0.0.10");
        assert.match(node.inputs.delete, /NODE_REMOVE='1'/);
        assert.match(node.inputs.stdin, /NODE_LABELS='pai-worker=true'/);
    });

    it("deploys the PAI services on the new cluster's provider", () => {
        assert.ok(registered.some(r => r.type === "pulumi:providers:kubernetes" && r.name === "lab-provider"));
        assert.ok(registered.some(r => r.type === "openpai:pai:HivedScheduler"));
    });
});
