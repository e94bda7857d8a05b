import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStep } from "../../components/hosts/scripts";
import { kubernetesUpgradeProblem } from "../../components/hosts/upgrade-path";
import { upgradeScript } from "../../components/hosts/worker-upgrade";
import { runScript } from "./helpers";

/**
 * A host with kubelet installed at `installed` (dpkg-query faked), a node of the cluster when
 * `node` (a kubelet kubeconfig), on cgroup v1 (CGROUP_ROOT is a plain directory) with a kubelet
 * config that allows it unless `refusesCgroupV1`, and stand-ins for apt-get and kubeadm that log
 * their calls: the decisions must be made before either runs.
 */
class FakeNode {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-upgrade-"));
    private readonly bin = path.join(this.dir, "bin");
    private readonly kubeletConf = path.join(this.dir, "kubelet.conf");

    private readonly kubeletConfig = path.join(this.dir, "config.yaml");

    constructor(installed: string, node: boolean, refusesCgroupV1 = false) {
        fs.mkdirSync(this.bin);
        fs.writeFileSync(this.kubeletConfig, `kind: KubeletConfiguration\n${refusesCgroupV1 ? "" : "failCgroupV1: false\n"}`);
        if (node) {
            fs.writeFileSync(this.kubeletConf, "apiVersion: v1\n");
        }
        const script = (name: string, text: string) => fs.writeFileSync(path.join(this.bin, name), `#!/usr/bin/env bash\necho "${name} $*" >>${this.dir}/calls\n${text}`, { mode: 0o755 });
        script("dpkg-query", `[[ "$*" == *kubelet* ]] && printf '%s' '${installed}-1.1' && exit 0\nexit 1\n`);
        for (const tool of ["apt-get", "kubeadm", "systemctl", "kubectl"]) {
            script(tool, "exit 0\n");
        }
    }

    run(step: "kube-packages" | "kube-upgrade", settings: Record<string, string>) {
        return runScript(renderStep(step, false, { KUBELET_KUBECONFIG: this.kubeletConf, KUBELET_CONFIG: this.kubeletConfig, CGROUP_ROOT: this.dir, OPENPAI_STATE_DIR: path.join(this.dir, "state"), ...settings }),
            { PATH: `${this.bin}:${process.env.PATH}` });
    }

    calls(): string[] {
        const file = path.join(this.dir, "calls");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").filter(c => !c.startsWith("dpkg-query")) : [];
    }

    remove() {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

function withNode(installed: string, node: boolean, test: (host: FakeNode) => void, refusesCgroupV1 = false) {
    const host = new FakeNode(installed, node, refusesCgroupV1);
    try {
        test(host);
    } finally {
        host.remove();
    }
}

describe("Kubernetes upgrades: the path allowed and the worker's drained upgrade (issue 22)", () => {
    it("the preview allows a patch or the next minor, refuses a skipped minor (naming each release to set) and a downgrade", () => {
        assert.strictEqual(kubernetesUpgradeProblem(undefined, "v1.34.3"), undefined, "a first up");
        assert.strictEqual(kubernetesUpgradeProblem("v1.34.3", "v1.34.3"), undefined);
        assert.strictEqual(kubernetesUpgradeProblem("v1.34.3", "v1.34.4"), undefined);
        assert.strictEqual(kubernetesUpgradeProblem("v1.34.3", "v1.35.4"), undefined);
        assert.match(kubernetesUpgradeProblem("v1.34.3", "v1.36.1")!, /one minor at a time\. Set v1\.35\.x, then v1\.36\.1, with a pulumi up after each/);
        assert.match(kubernetesUpgradeProblem("v1.34.3", "v1.37.2")!, /Set v1\.35\.x, then v1\.36\.x, then v1\.37\.2/);
        assert.match(kubernetesUpgradeProblem("v1.35.4", "v1.34.3")!, /never downgraded in place.*Set it back to v1\.35\.4/);
        assert.match(kubernetesUpgradeProblem("v1.34.3", "v1.34.2")!, /never downgraded/);
    });

    it("kube-packages leaves a node's release to the upgrade step, and refuses a skipped minor or a downgrade before apt runs", () => {
        withNode("1.34.3", true, host => {
            const next = host.run("kube-packages", { K8S_VERSION: "v1.35.4" });
            assert.strictEqual(next.status, 0, next.stderr);
            assert.match(next.stdout, /this node runs Kubernetes 1\.34\.3: the upgrade step moves it to 1\.35\.4/);
            const skip = host.run("kube-packages", { K8S_VERSION: "v1.36.1" });
            assert.notStrictEqual(skip.status, 0);
            assert.match(skip.stderr, /kubeadm upgrades one minor at a time\. Set v1\.35\.x, then v1\.36\.1/);
            const down = host.run("kube-packages", { K8S_VERSION: "v1.33.5" });
            assert.notStrictEqual(down.status, 0);
            assert.match(down.stderr, /never downgraded in place/);
            assert.deepStrictEqual(host.calls(), [], "no apt-get, no kubeadm");
        });
    });

    it("kube-upgrade asks only when planning: a node at another release must move, a new host or one at the release need not", () => {
        const settings = { K8S_VERSION: "v1.35.4", UPGRADE_ROLE: "node", NODE_NAME: "w1", UPGRADE_PLAN: "1" };
        withNode("1.34.3", true, host => {
            const plan = host.run("kube-upgrade", settings);
            assert.strictEqual(plan.status, 0, plan.stderr);
            assert.strictEqual(plan.stdout, "upgrade-needed=v1.34.3 to v1.35.4\n");
            const skip = host.run("kube-upgrade", { ...settings, K8S_VERSION: "v1.36.1" });
            assert.notStrictEqual(skip.status, 0, "a skipped minor is refused on the node too");
            assert.deepStrictEqual(host.calls(), []);
        });
        withNode("1.35.4", true, host => assert.strictEqual(host.run("kube-upgrade", settings).stdout, "", "at the release"));
        withNode("1.34.3", false, host => {
            assert.strictEqual(host.run("kube-upgrade", settings).stdout, "", "not a node yet: kube-packages installed the release");
            assert.match(host.run("kube-upgrade", { ...settings, UPGRADE_PLAN: "0" }).stdout, /w1: nothing to upgrade/);
            assert.deepStrictEqual(host.calls(), []);
        });
    });

    it("on cgroup v1, a move to v1.35 is refused before the drain unless the kubelet config allows it (failCgroupV1: false)", () => {
        const settings = { K8S_VERSION: "v1.35.4", UPGRADE_ROLE: "node", NODE_NAME: "w1", UPGRADE_PLAN: "1" };
        withNode("1.34.3", true, host => {
            const plan = host.run("kube-upgrade", settings);
            assert.notStrictEqual(plan.status, 0, "refused while planning: the worker is not drained for an upgrade that cannot come back");
            assert.match(plan.stderr, /w1 runs cgroup v1, which kubelet v1\.35\.4 refuses: boot it with cgroup v2 .*failCgroupV1: false.*nothing was changed/);
            assert.deepStrictEqual(host.calls(), []);
        }, true);
    });

    it("a worker's upgrade is asked first, then drained through a slot, upgraded and uncordoned; a failure keeps it cordoned", () => {
        const connection = (host: string) => ({ host, port: 22, user: "ubuntu", dialAttempts: 30, privateKey: "KEY", hostKey: "ssh-ed25519 AAAA" });
        const script = upgradeScript({
            connection: connection("10.0.1.1"), masterConnection: connection("10.0.0.10"), nodeName: "w1", batchSize: 2, checkOnly: false,
            upgrade: { step: "kube-upgrade", settings: { K8S_VERSION: "v1.35.4", UPGRADE_ROLE: "node", NODE_NAME: "w1" } },
        });
        const order = ["\nplan=\"$(upgrade 1)\"", "\nclaim_slot\n", "\nupgrade 0\n", "\nslot release\n"].map(call => script.indexOf(call));
        assert.ok(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1])), `asked, drained, upgraded, released, in that order: ${order}`);
        assert.match(script, /export NODE_NAME='w1'\nexport REBOOT_BATCH_SIZE='2'\nexport DRAIN_PURPOSE='its upgrade'/, "the reboots' slots, for its upgrade");
        assert.match(script, /if \(\(rc != 0\)\); then\n.*it stays cordoned" >&2\n {2}slot failed\n/);
        assert.ok(script.includes("on_host '10.0.0.10' 22 ") && script.includes("on_host '10.0.1.1' 22 "), "the master drains, the worker upgrades");
    });
});
