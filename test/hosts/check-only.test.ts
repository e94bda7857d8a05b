import * as assert from "assert";
import { Engine, must, projectEntries, projectRoot, Stack } from "../engine/harness";
import { Lab } from "../lab/lab";
import { labHosts, labStackConfig } from "./lab-stack";

interface StateResource {
    urn: string;
    type: string;
    dependencies?: string[];
    outputs?: Record<string, any>;
}

const { master, workers, devBox } = labHosts;
const workerSteps = ["prepare", "preflight", "kernel", "nvidia-driver", "wait-boot", "kube-packages", "containerd", "nvidia-toolkit", "join-token", "kubeadm-join", "node"];
const masterSteps = ["prepare", "preflight", "kernel", "kube-packages", "containerd", "kubeadm-init", "kubeconfig", "node"];

/**
 * The GPU steps cannot run here (no GPU): in check-only mode every step of 8-GPU workers runs
 * over SSH on the lab's hosts and only says what it would do, in the order a real run takes.
 */
describe("GPU workers in check-only mode on the lab's hosts", function () {
    this.timeout(30 * 60 * 1000);
    const lab = new Lab();
    let engine: Engine;
    let stack: Stack;

    const commands = (): StateResource[] => {
        const state = JSON.parse(must(stack.run(["stack", "export"])).stdout) as { deployment: { resources: StateResource[] } };
        return state.deployment.resources.filter(r => r.type === "command:remote:Command");
    };

    before(async () => {
        const env = lab.up();
        await lab.start([master, ...workers, devBox]);
        engine = new Engine({ dir: projectRoot, entries: projectEntries });
        stack = engine.stack("gpu", labStackConfig(env, { gpuWorkers: true, checkOnly: true }), { "openpai:sshPrivateKey": lab.privateKey() });
    });

    after(() => {
        try {
            lab.down();
        } finally {
            engine?.cleanup();
        }
    });

    it("runs every step on the right host, in order, changing nothing", () => {
        must(stack.run(["up", "--yes", "--skip-preview"]));
        const byName = new Map(commands().map(c => [c.urn.split("::").pop()!, c]));
        for (const [host, steps] of [[master, masterSteps], ...workers.map(w => [w, workerSteps] as const)] as const) {
            steps.forEach((step, j) => {
                const cmd = byName.get(`openpai-hosts-${host.name}-${step}`);
                assert.ok(cmd, `step ${step} of ${host.name} missing`);
                if (j > 0) {
                    assert.ok(cmd.dependencies?.includes(byName.get(`openpai-hosts-${host.name}-${steps[j - 1]}`)!.urn), `${host.name}: ${step} must follow ${steps[j - 1]}`);
                }
                // (the kubeconfig step's stdout is a secret in the state, and holds nothing in check-only mode)
                const stdout = cmd.outputs!.stdout;
                assert.ok(typeof stdout !== "string" || !/changed:/.test(stdout), `${host.name} ${step} changed something in check-only mode`);
            });
            const facts = JSON.parse(byName.get(`openpai-hosts-${host.name}-preflight`)!.outputs!.stdout.split("\n").pop());
            assert.strictEqual(facts.hostname, host.name, "preflight ran on the host itself");
        }
        const worker = workers[0].name;
        assert.match(byName.get(`openpai-hosts-${worker}-preflight`)!.outputs!.stdout, /would fail: lspci sees 0 NVIDIA GPUs, nvidia-smi 0; the layout says 8/);
        assert.match(byName.get(`openpai-hosts-${worker}-nvidia-driver`)!.outputs!.stdout, /would install branch 580 and reboot/);
        assert.match(byName.get(`openpai-hosts-${worker}-nvidia-toolkit`)!.outputs!.stdout, /would fetch NVIDIA's signing key/);
        assert.match(byName.get(`openpai-hosts-${worker}-kubeadm-join`)!.outputs!.stdout, /would run: kubeadm join --config/);
        assert.match(lab.ssh(workers[0], "test -e /etc/containerd/config.toml && echo written || echo untouched"), /^untouched/);
    });

    it("with nvidiaDriver: verify, checks the admin's driver instead of installing one (and needs no reboot step)", () => {
        stack.writeConfig(labStackConfig(lab.env(), { gpuWorkers: true, checkOnly: true, cluster: { nvidiaDriver: "verify" } }));
        must(stack.run(["up", "--yes", "--skip-preview"]));
        const byName = new Map(commands().map(c => [c.urn.split("::").pop()!, c]));
        assert.match(byName.get(`openpai-hosts-${workers[0].name}-nvidia-driver`)!.outputs!.stdout, /would fail: cluster.nvidiaDriver is 'verify' but the loaded NVIDIA driver is 'none'/);
        assert.ok(!byName.has(`openpai-hosts-${workers[0].name}-wait-boot`));
    });
});
