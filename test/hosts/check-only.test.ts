import * as assert from "assert";
import { Engine, must, projectEntries, projectRoot, Stack } from "../engine/harness";
import { Lab } from "../lab/lab";
import { labHosts, labStackConfig } from "./lab-stack";

interface StateResource {
    urn: string;
    type: string;
    dependencies?: string[];
    inputs?: Record<string, any>;
    outputs?: Record<string, any>;
}

/** The step scripts a host resource runs, in order (the markers scripts.ts renders). */
const stepsOf = (r: StateResource) => [...String(r.inputs?.stdin ?? r.inputs?.create ?? "").matchAll(/^# ---- step: (\S+) ----$/gm)].map(m => m[1]);

const { master, workers, devBox } = labHosts;
/** Each host's resources in order, and the step scripts each runs. */
// The join deletes its token once done: in the script after a failed join, and before the node step.
// The reboots resource: its worker steps (asked first, then run), the master's reboot slot, the boot check.
const workerResources = { provision: ["prepare", "preflight", "kernel"], reboots: ["nvidia-driver", "reboot", "drain", "wait-boot"],
    runtime: ["kube-packages", "containerd", "nvidia-toolkit"], upgrade: ["kube-upgrade", "drain"], join: ["join-token", "kubeadm-join", "join-token", "join-token", "node"] };
const masterResources = { provision: ["prepare", "preflight", "kernel"], runtime: ["kube-packages", "containerd"], upgrade: ["kube-upgrade"], "kubeadm-init": ["kubeadm-init"], kubeconfig: ["kubeconfig"], node: ["node"] };

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
        return state.deployment.resources.filter(r => r.type === "command:remote:Command" || r.type === "command:local:Command");
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
        for (const [host, resources] of [[master, masterResources], ...workers.map(w => [w, workerResources] as const)] as const) {
            const names = Object.keys(resources);
            names.forEach((name, j) => {
                const cmd = byName.get(`openpai-hosts-${host.name}-${name}`);
                assert.ok(cmd, `${name} of ${host.name} missing`);
                assert.deepStrictEqual(stepsOf(cmd), resources[name as keyof typeof resources], `${host.name} ${name}: its steps`);
                if (j > 0) {
                    assert.ok(cmd.dependencies?.includes(byName.get(`openpai-hosts-${host.name}-${names[j - 1]}`)!.urn), `${host.name}: ${name} must follow ${names[j - 1]}`);
                }
                // (the kubeconfig step's stdout is a secret in the state, and holds nothing in check-only mode)
                const stdout = cmd.outputs!.stdout;
                assert.ok(typeof stdout !== "string" || !/changed:/.test(stdout), `${host.name} ${name} changed something in check-only mode`);
            });
            const facts = JSON.parse(/^\{"hostname".*$/m.exec(byName.get(`openpai-hosts-${host.name}-provision`)!.outputs!.stdout)![0]);
            assert.strictEqual(facts.hostname, host.name, "preflight ran on the host itself");
        }
        const worker = workers[0].name;
        const provision = byName.get(`openpai-hosts-${worker}-provision`)!.outputs!.stdout;
        assert.match(provision, /\[preflight\] .*would fail: the PCI bus shows 0 NVIDIA GPUs, nvidia-smi 0; the layout says 8/);
        // The lab's hosts run Debian, which has no Ubuntu server driver packages: install mode is refused there.
        assert.match(provision, /\[preflight\] .*would fail: cluster.nvidiaDriver is 'install' but this host runs 'debian 12'/);
        const reboots = byName.get(`openpai-hosts-${worker}-reboots`)!.outputs!.stdout;
        assert.match(reboots, /\[nvidia-driver\] .*would fail: cluster.nvidiaDriver is 'install' but this host runs 'debian 12': .*'verify'/);
        assert.doesNotMatch(reboots, /must reboot|\[drain\]/, "nothing asks for a reboot in check-only mode here: no drain");
        assert.match(byName.get(`openpai-hosts-${worker}-runtime`)!.outputs!.stdout,
            /\[nvidia-toolkit\] would fetch the signing key https:\/\/nvidia.github.io\/libnvidia-container\/gpgkey and check its fingerprint is C95B321B61E88C1809C4F759DDCAE044F796ECB0/);
        assert.match(byName.get(`openpai-hosts-${worker}-join`)!.outputs!.stdout, /\[kubeadm-join\] would run: kubeadm join --config[\s\S]*\[join-token\] would delete the join tokens of /);
        assert.match(lab.ssh(workers[0], "test -e /etc/containerd/config.toml && echo written || echo untouched"), /^untouched/);
    });

    it("with nvidiaDriver: verify, checks the admin's driver instead of installing one (and waits for no reboot)", () => {
        stack.writeConfig(labStackConfig(lab.env(), { gpuWorkers: true, checkOnly: true, cluster: { nvidiaDriver: "verify" } }));
        must(stack.run(["up", "--yes", "--skip-preview"]));
        const byName = new Map(commands().map(c => [c.urn.split("::").pop()!, c]));
        assert.match(byName.get(`openpai-hosts-${workers[0].name}-reboots`)!.outputs!.stdout, /would fail: cluster.nvidiaDriver is 'verify' but the loaded NVIDIA driver is 'none'/);
        assert.deepStrictEqual(stepsOf(byName.get(`openpai-hosts-${workers[0].name}-runtime`)!), ["kube-packages", "containerd", "nvidia-toolkit"]);
    });
});
