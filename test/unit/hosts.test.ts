import * as assert from "assert";
import { spawnSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../config";
import { OpenPaiCluster } from "../../components/cluster";
import { apiEndpoint } from "../../components/hosts/cluster-hosts";
import { asRoot, inlineStep, renderStep } from "../../components/hosts/scripts";
import { layout, rawStack, registrationsSettled } from "./helpers";

/** Runs a rendered step here (check-only steps change nothing). */
function runStep(text: string): { status: number | null; stdout: string; stderr: string } {
    return spawnSync("bash", ["-s"], { input: text, encoding: "utf8" });
}

describe("host step scripts", () => {
    it("render settings, the shared helpers and the step, quoting values", () => {
        const text = renderStep("kubeadm-join", true, { JOIN_TOKEN: "abc.def", EXPECTED_HOSTNAME: "it's" });
        assert.match(text, /^#!\/usr\/bin\/env bash\nset -euo pipefail\nexport STEP='kubeadm-join'\nexport CHECK_ONLY='1'\n/);
        assert.match(text, /export EXPECTED_HOSTNAME='it'"'"'s'/);
        assert.match(text, /write_file\(\) \{/);
        assert.match(text, /kind: JoinConfiguration/);
    });

    it("run in check-only mode without changing anything, printing what they would do", () => {
        const r = runStep(renderStep("kernel", true));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /\[kernel\] kernel prerequisites in place/);
        assert.doesNotMatch(r.stdout, /changed:/);
    });

    it("preflight reports unmet requirements in check-only mode and fails in apply mode", () => {
        const settings = { EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: 1, SKU_VCORE: 1, GPU_COUNT: 0, ROLE: "worker", REGISTRY_MIRRORS: "http://127.0.0.1:9" };
        const check = runStep(renderStep("preflight", true, settings));
        assert.strictEqual(check.status, 0, check.stderr);
        assert.match(check.stdout, /would fail: hostname is '.*' but the layout says 'no-such-host'/);
        assert.match(check.stdout, /warning: registry not reachable: http:\/\/127.0.0.1:9/);
        const facts = JSON.parse(check.stdout.trim().split("\n").pop()!);
        assert.ok(facts.problems >= 1 && facts.vcpus >= 1 && facts.memMb > 0);
        const apply = runStep(renderStep("preflight", false, settings));
        assert.strictEqual(apply.status, 1);
        assert.match(apply.stderr, /error: .*the layout says 'no-such-host'/);
    });

    it("run through sudo for a non-root user, failing with the fix when sudo wants a password", () => {
        assert.strictEqual(asRoot("root"), "bash -s");
        assert.match(asRoot("ubuntu"), /sudo -n true .*needs passwordless sudo.*exec sudo -n bash -s$/);
    });

    it("inline a step for delete commands, which have no stdin", () => {
        const r = spawnSync("bash", ["-c", inlineStep("bash -s", renderStep("kubeadm-reset", true, { NODE_NAME: "w1" }))], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /\[kubeadm-reset\]/);
    });

    it("never print the join token: kubeadm init skips printing, the token step keeps stdout for the program", () => {
        const init = renderStep("kubeadm-init", false, {});
        assert.match(init, /kubeadm init --config "\$config" --skip-token-print --skip-certificate-key-print/);
        assert.doesNotMatch(init, /--upload-certs|bootstrapTokens|ttl: "0s"/);
        const join = renderStep("kubeadm-join", false, {});
        assert.match(join, /trap 'rm -f "\$config"' EXIT/, "the token file is removed after the join");
        assert.match(renderStep("join-token", false, {}), /kubeadm token create --ttl 2h/);
    });

    it("keep the master schedulable and give every kubelet its node-ip", () => {
        assert.match(renderStep("kubeadm-init", false, {}), /nodeRegistration:\n {2}name: "\$EXPECTED_HOSTNAME"\n {2}taints: \[\]\n {2}kubeletExtraArgs:\n {2}- name: node-ip\n {4}value: "\$MASTER_IP"/);
        assert.match(renderStep("kubeadm-join", false, {}), /- name: node-ip\n {4}value: "\$NODE_IP"/);
    });

    it("API endpoint: the master's hostip:6443 unless cluster.apiServerEndpoint says otherwise", () => {
        assert.strictEqual(apiEndpoint(undefined, "10.0.0.1"), "10.0.0.1:6443");
        assert.strictEqual(apiEndpoint("api.lab", "10.0.0.1"), "api.lab:6443");
        assert.strictEqual(apiEndpoint("api.lab:443", "10.0.0.1"), "api.lab:443");
    });
});

describe("OpenPaiCluster in kubeadm mode (mocks)", () => {
    const registered: { type: string; name: string; inputs: any; dependencies: string[] }[] = [];

    before(async () => {
        await pulumi.runtime.setMocks({
            newResource: args => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs, dependencies: [] });
                const stdout = args.name.endsWith("kubeadm-init") ? "ca_cert_hash=sha256:abc" : args.name.endsWith("join-token") ? "token=abcdef.0123456789abcdef" : "";
                const state = args.type.startsWith("command:") ? { ...args.inputs, stdout }
                    : args.type.startsWith("random:") ? { ...args.inputs, result: `r-${args.name.slice(-6)}` } : args.inputs;
                return { id: `${args.name}-id`, state };
            },
            call: args => args.inputs,
        }, "openpai", "lab", false);
        const l = layout(2);
        l["machine-list"].push({ hostname: "cpu-0", hostip: "10.0.9.1", "machine-type": "master-machine", "pai-worker": true });
        const config = parseStackConfig(rawStack({
            layout: l, cluster: { name: "lab", aptProxy: "http://10.0.0.1:3142", aptMirror: "http://10.0.0.1:8080" }, devBox: { host: "10.0.0.2" },
        }));
        new OpenPaiCluster("lab", { config, secrets: { sshPrivateKey: pulumi.secret("KEY") } });
        await registrationsSettled(registered);
    });

    const commands = () => registered.filter(r => r.type === "command:remote:Command");
    const secretSig = "4dabf18193072939515e22adb298388d";

    it("declares the step chain per host, GPU steps only on GPU workers", () => {
        const names = commands().map(c => c.name);
        for (const step of ["prepare", "preflight", "kernel", "kube-packages", "containerd", "kubeadm-init", "kubeconfig", "node"]) {
            assert.ok(names.includes(`lab-hosts-pai-master-${step}`), `master ${step}`);
        }
        for (const step of ["nvidia-driver", "wait-boot", "nvidia-toolkit", "join-token", "kubeadm-join", "node"]) {
            assert.ok(names.includes(`lab-hosts-pai-worker-0-${step}`), `GPU worker ${step}`);
        }
        assert.ok(names.includes("lab-hosts-cpu-0-kubeadm-join"));
        assert.ok(!names.includes("lab-hosts-cpu-0-nvidia-driver"), "no driver on a CPU worker");
        assert.deepStrictEqual(names.filter(n => n.startsWith("lab-hosts-devbox-")), ["lab-hosts-devbox-prepare", "lab-hosts-devbox-kube-packages", "lab-hosts-devbox-devbox"]);
        assert.ok(registered.some(r => r.type === "openpai:hosts:MasterHost") && registered.some(r => r.type === "openpai:hosts:WorkerHost")
            && registered.some(r => r.type === "openpai:hosts:DevBox"));
    });

    it("runs steps as root through sudo, sends scripts on stdin, keeps connections and join tokens secret", () => {
        const join = commands().find(c => c.name === "lab-hosts-pai-worker-0-kubeadm-join")!;
        assert.match(join.inputs.create, /exec sudo -n bash -s$/);
        assert.ok(join.inputs.stdin[secretSig], "stdin holding the join token is a secret");
        assert.ok(join.inputs.connection[secretSig], "the connection is a secret");
        assert.strictEqual(join.inputs.connection.value.dialErrorLimit, 30);
        const token = commands().find(c => c.name === "lab-hosts-pai-worker-0-join-token")!;
        assert.strictEqual(token.inputs.connection.value.host, "10.0.0.10", "the token is made on the master");
        assert.strictEqual(token.inputs.logging, "none");
        const kernel = commands().find(c => c.name === "lab-hosts-pai-worker-0-kernel")!;
        assert.ok(!kernel.inputs.stdin[secretSig], "a plain step stays reviewable in previews");
        const devbox = commands().find(c => c.name === "lab-hosts-devbox-devbox")!;
        assert.strictEqual(devbox.inputs.create, "bash -s", "the dev box's kubeconfig goes to the SSH user");
    });

    it("sets apt's proxy on every host, with the Kubernetes mirror reached directly", () => {
        const prepare = commands().find(c => c.name === "lab-hosts-pai-worker-0-prepare")!;
        assert.match(prepare.inputs.stdin, /export APT_PROXY='http:\/\/10.0.0.1:3142'\nexport APT_DIRECT_HOSTS='10.0.0.1:8080'/);
    });

    it("waits out a driver reboot with a long dial budget", () => {
        const wait = commands().find(c => c.name === "lab-hosts-pai-worker-0-wait-boot")!;
        assert.strictEqual(wait.inputs.connection.value.dialErrorLimit, 60);
    });

    it("drains the node from the master, then resets the host from here, tolerating a dead host", () => {
        const node = commands().find(c => c.name === "lab-hosts-pai-worker-0-node")!;
        assert.strictEqual(node.inputs.connection.value.host, "10.0.0.10");
        assert.match(node.inputs.delete, /NODE_REMOVE='1'/);
        assert.match(node.inputs.stdin, /NODE_LABELS='pai-master- pai-worker=true pai-storage- nvidia.com\/gpu.present=true'/);
        assert.match(node.inputs.stdin, /NODE_WAIT_READY='1'/);
        const reset = registered.find(r => r.type === "command:local:Command" && r.name === "lab-hosts-pai-worker-0-reset")!;
        assert.ok(reset, "a local reset command");
        assert.strictEqual(reset.inputs.create, undefined, "nothing runs on create");
        assert.match(reset.inputs.delete, /STEP='kubeadm-reset'/);
        assert.match(reset.inputs.delete, /NODE_NAME='pai-worker-0'/);
        assert.match(reset.inputs.delete, /rc == 255/);
        assert.ok(reset.inputs.environment[secretSig] || reset.inputs.environment.OPENPAI_SSH_KEY[secretSig], "the SSH key stays secret");
    });

    it("installs the pod network and deploys the PAI services on the new cluster's provider", () => {
        assert.ok(registered.some(r => r.type === "pulumi:providers:kubernetes" && r.name === "lab-provider"));
        assert.ok(registered.some(r => r.type === "openpai:kubernetes:PodNetwork"));
        assert.ok(registered.some(r => r.type === "kubernetes:apps/v1:DaemonSet" && r.name.endsWith("kube-system-daemonset-kube-router")));
        assert.ok(registered.some(r => r.type === "openpai:pai:HivedScheduler"));
    });
});
