import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStep, renderSteps } from "../../components/hosts/scripts";
import { rebootScript, WorkerRebootArgs } from "../../components/hosts/worker-reboot";
import { runScript } from "./helpers";

/**
 * A worker's state and tools, faked: its state directory (OPENPAI_STATE_DIR), whether it is a node
 * (a kubelet kubeconfig), and stand-ins for systemd-run, iptables and kubectl that log their calls
 * in order to `calls` (kubectl answers from `node`: registered or not, cordoned or not).
 */
class FakeHost {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-reboot-"));
    readonly state = path.join(this.dir, "state");
    private readonly bin = path.join(this.dir, "bin");
    private readonly kubeletConf = path.join(this.dir, "kubelet.conf");

    constructor(opts: { node?: boolean; systemdRunFails?: boolean; unschedulable?: boolean; registered?: boolean } = {}) {
        fs.mkdirSync(this.state);
        fs.mkdirSync(this.bin);
        if (opts.node) {
            fs.writeFileSync(this.kubeletConf, "apiVersion: v1\n");
        }
        const script = (name: string, text: string) => fs.writeFileSync(path.join(this.bin, name), `#!/usr/bin/env bash\necho "${name} $*" >>${this.dir}/calls\n${text}`, { mode: 0o755 });
        script("systemd-run", opts.systemdRunFails ? "exit 1\n" : "exit 0\n");
        script("iptables", "exit 0\n");
        script("kubectl", `case "$*" in
  *"get node"*"-o name"*) ${opts.registered === false ? 'echo "Error from server (NotFound): nodes \\"w1\\" not found" >&2; exit 1' : "echo node/w1"} ;;
  *unschedulable*) echo ${opts.unschedulable ? "true" : ""} ;;
esac
exit 0
`);
    }

    run(step: "reboot" | "wait-boot" | "drain", settings: Record<string, string | number>) {
        return runScript(renderStep(step, false, { OPENPAI_STATE_DIR: this.state, KUBELET_KUBECONFIG: this.kubeletConf, ...settings }),
            { PATH: `${this.bin}:${process.env.PATH}` });
    }

    calls(): string[] {
        return fs.existsSync(path.join(this.dir, "calls")) ? fs.readFileSync(path.join(this.dir, "calls"), "utf8").trim().split("\n") : [];
    }

    read(file: string): string | undefined {
        const full = path.join(this.state, file);
        return fs.existsSync(full) ? fs.readFileSync(full, "utf8") : undefined;
    }

    write(file: string, text: string) {
        fs.mkdirSync(path.dirname(path.join(this.state, file)), { recursive: true });
        fs.writeFileSync(path.join(this.state, file), text);
    }

    remove() {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

function withHost(opts: ConstructorParameters<typeof FakeHost>[0], body: (host: FakeHost) => void) {
    const host = new FakeHost(opts);
    try {
        body(host);
    } finally {
        host.remove();
    }
}

/** This machine's boot as the steps' boot_identity helper reads it. */
const bootNow = () => runScript(`${renderSteps([], false)}\nboot_identity\n`).stdout.trim();

describe("drained reboots: the reboot, wait-boot and drain steps (issue 22)", () => {
    it("a node asked to reboot by a new workerRebootRevision: the plan says so and changes nothing; the run schedules the reboot before it closes SSH", () => {
        withHost({ node: true }, host => {
            const plan = host.run("reboot", { REBOOT_REVISION: "r2", SSH_PORT: 22, REBOOT_PLAN: 1 });
            assert.strictEqual(plan.status, 0, plan.stderr);
            assert.match(plan.stdout, /^reboot-needed=cluster.workerRebootRevision is 'r2', this host last rebooted for 'none'$/m);
            assert.deepStrictEqual(host.calls(), [], "the plan runs nothing");
            assert.strictEqual(host.read("reboot-revision"), undefined);

            const run = host.run("reboot", { REBOOT_REVISION: "r2", SSH_PORT: 2222 });
            assert.strictEqual(run.status, 0, run.stderr);
            assert.deepStrictEqual(host.calls().map(c => c.split(" ")[0]), ["systemd-run", "iptables"], "the timer first, then SSH closed");
            assert.match(host.calls()[1], /-I INPUT -p tcp --dport 2222 -m conntrack --ctstate NEW -j DROP/);
            assert.strictEqual(host.read("reboot-revision"), "r2\n");
            assert.strictEqual(host.read("reboot-from-boot")?.trim(), bootNow(), "the boot it was scheduled in, for wait-boot");
            assert.match(run.stdout, /changed: rebooting in 5 s: cluster.workerRebootRevision is 'r2'/);

            const again = host.run("reboot", { REBOOT_REVISION: "r2", SSH_PORT: 22, REBOOT_PLAN: 1 });
            assert.strictEqual(again.stdout.trim(), "", "the revision it rebooted for needs no other reboot");
        });
    });

    it("a host that could not schedule its reboot keeps SSH open and fails saying so", () => {
        withHost({ node: true, systemdRunFails: true }, host => {
            const run = host.run("reboot", { REBOOT_REVISION: "r2", SSH_PORT: 22 });
            assert.strictEqual(run.status, 1);
            assert.match(run.stderr, /could not schedule a reboot \(systemd-run\): reboot this host by hand, then pulumi up/);
            assert.deepStrictEqual(host.calls().map(c => c.split(" ")[0]), ["systemd-run"]);
            assert.strictEqual(host.read("reboot-revision"), undefined, "not recorded: the next up tries again");
        });
    });

    it("a host that is not a node yet records the revision without a reboot; a driver that asks for one reboots it", () => {
        withHost({ node: false }, host => {
            assert.strictEqual(host.run("reboot", { REBOOT_REVISION: "r1", SSH_PORT: 22, REBOOT_PLAN: 1 }).stdout.trim(), "");
            const run = host.run("reboot", { REBOOT_REVISION: "r1", SSH_PORT: 22 });
            assert.match(run.stdout, /not a node yet: recorded workerRebootRevision 'r1' without a reboot\n[\s\S]*no reboot needed/);
            assert.strictEqual(host.read("reboot-revision"), "r1\n");
            assert.deepStrictEqual(host.calls(), []);
            host.write("reboot-wanted", "NVIDIA driver branch 580 (open kernel modules) installed, none loaded\n");
            assert.match(host.run("reboot", { REBOOT_REVISION: "r1", SSH_PORT: 22, REBOOT_PLAN: 1 }).stdout, /^reboot-needed=NVIDIA driver branch 580/m);
            const driver = host.run("reboot", { REBOOT_REVISION: "r1", SSH_PORT: 22 });
            assert.match(driver.stdout, /changed: rebooting in 5 s: NVIDIA driver branch 580/);
            assert.strictEqual(host.read("reboot-wanted"), undefined, "asked once");
        });
    });

    it("refuses a revision that is not a plain word (it reaches a shell)", () => {
        withHost({ node: true }, host => {
            const run = host.run("reboot", { REBOOT_REVISION: "r1; reboot", SSH_PORT: 22 });
            assert.strictEqual(run.status, 1);
            assert.match(run.stderr, /workerRebootRevision must be letters, digits/);
            assert.deepStrictEqual(host.calls(), []);
        });
    });

    it("wait-boot: the boot the reboot was scheduled in fails; another boot passes and forgets it", () => {
        withHost({}, host => {
            host.write("reboot-from-boot", `${bootNow()}\n`);
            const same = host.run("wait-boot", { GPU_COUNT: 0 });
            assert.strictEqual(same.status, 1);
            assert.match(same.stderr, /the reboot did not happen; reboot the host and run pulumi up again/);
            host.write("reboot-from-boot", "an-earlier-boot/1\n");
            const next = host.run("wait-boot", { GPU_COUNT: 0 });
            assert.strictEqual(next.status, 0, next.stderr);
            assert.match(next.stdout, /changed: rebooted \(now boot /);
            assert.strictEqual(host.read("reboot-from-boot"), undefined);
        });
    });

    it("drain: a slot per node, at most REBOOT_BATCH_SIZE taken; release uncordons only what the drain cordoned; a failed reboot stops the others", () => {
        withHost({}, host => {
            const claim = host.run("drain", { NODE_NAME: "w1", DRAIN_ACTION: "claim", REBOOT_BATCH_SIZE: 1 });
            assert.strictEqual(claim.status, 0, claim.stderr);
            assert.match(claim.stdout, /changed: cordoned and drained w1 for its reboot/);
            assert.ok(host.calls().some(c => /^kubectl drain w1 --ignore-daemonsets --delete-emptydir-data --force/.test(c)));
            assert.match(host.read("reboots/w1")!, /^since=.*\ncordoned_before=\n$/);

            const busy = host.run("drain", { NODE_NAME: "w2", DRAIN_ACTION: "claim", REBOOT_BATCH_SIZE: 1 });
            assert.match(busy.stdout, /^busy=w1$/m, "w2 waits while w1 holds the only slot");
            assert.strictEqual(host.read("reboots/w2"), undefined);
            assert.ok(!host.calls().some(c => c.startsWith("kubectl drain w2")));
            assert.doesNotMatch(host.run("drain", { NODE_NAME: "w2", DRAIN_ACTION: "claim", REBOOT_BATCH_SIZE: 2 }).stdout, /busy=/, "two slots: w2 goes");

            host.run("drain", { NODE_NAME: "w1", DRAIN_ACTION: "failed" });
            const stopped = host.run("drain", { NODE_NAME: "w3", DRAIN_ACTION: "claim", REBOOT_BATCH_SIZE: 5 });
            assert.strictEqual(stopped.status, 1);
            assert.match(stopped.stderr, /the reboot or upgrade of w1 failed \(.*\) and it stays cordoned/);

            const released = host.run("drain", { NODE_NAME: "w1", DRAIN_ACTION: "release" });
            assert.match(released.stdout, /changed: uncordoned w1/);
            assert.ok(host.calls().includes("kubectl uncordon w1"));
            assert.strictEqual(host.read("reboots/w1"), undefined);
        });
    });

    it("drain: an admin's cordon stays after the reboot; a host that is not a node needs no slot", () => {
        withHost({ unschedulable: true }, host => {
            host.run("drain", { NODE_NAME: "w1", DRAIN_ACTION: "claim", REBOOT_BATCH_SIZE: 1 });
            const released = host.run("drain", { NODE_NAME: "w1", DRAIN_ACTION: "release" });
            assert.match(released.stdout, /w1 was cordoned before its drain: it stays cordoned/);
            assert.ok(!host.calls().some(c => c.startsWith("kubectl uncordon")));
        });
        withHost({ registered: false }, host => {
            const claim = host.run("drain", { NODE_NAME: "w1", DRAIN_ACTION: "claim", REBOOT_BATCH_SIZE: 1 });
            assert.strictEqual(claim.status, 0, claim.stderr);
            assert.match(claim.stdout, /w1 is not a node of the cluster: nothing to drain/);
            assert.strictEqual(host.read("reboots/w1"), undefined);
        });
    });

    it("the reboots resource's script fits in one argument of bash (128 KiB), in check-only mode too, where each remote script carries the helpers", () => {
        const host = (address: string) => ({ host: address, port: 22, user: "ubuntu", hostKey: "ssh-ed25519 AAAA", dialAttempts: 30 });
        const args: WorkerRebootArgs = {
            connection: host("10.0.1.1"), masterConnection: host("10.0.0.10"), nodeName: "w1", rebootRevision: "r1", batchSize: 1, gpus: 8, sshPort: 22, checkOnly: true,
            steps: [{ step: "nvidia-driver", settings: { DRIVER_BRANCH: "580", NVIDIA_DRIVER: "install", NVIDIA_KERNEL_MODULES: "open" } }],
        };
        for (const checkOnly of [true, false]) {
            const script = rebootScript({ ...args, checkOnly });
            assert.ok(Buffer.byteLength(script) < 128 * 1024, `${Buffer.byteLength(script)} bytes`);
            const syntax = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
            assert.strictEqual(syntax.status, 0, syntax.stderr);
        }
    });
});
