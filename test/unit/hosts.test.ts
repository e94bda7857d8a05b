import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../config";
import { OpenPaiCluster } from "../../components/cluster";
import { apiEndpoint } from "../../components/hosts/cluster-hosts";
import { asRoot, helpersPath, renderStep, renderSteps } from "../../components/hosts/scripts";
import { hostKeyRefusedExit } from "../../components/hosts/ssh-from-here";
import { joinScript, leaveScript } from "../../components/hosts/worker-join";
import { layout, rawStack, registrationsSettled, runScript } from "./helpers";

describe("host step scripts", () => {
    it("render settings, the shared helpers and the step, quoting values", () => {
        const text = renderStep("kubeadm-join", true, { JOIN_TOKEN: "abc.def", EXPECTED_HOSTNAME: "it's" });
        assert.match(text, /^#!\/usr\/bin\/env bash\nset -euo pipefail\n/);
        assert.match(text, /\n# ---- step: kubeadm-join ----\n\(\nexport STEP='kubeadm-join'\nexport CHECK_ONLY='1'\n/);
        assert.match(text, /export EXPECTED_HOSTNAME='it'"'"'s'/);
        assert.match(text, /write_file\(\) \{/);
        assert.match(text, /kind: JoinConfiguration/);
    });

    it("run in check-only mode without changing anything, printing what they would do", () => {
        const r = runScript(renderStep("kernel", true));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /\[kernel\] kernel prerequisites in place/);
        assert.doesNotMatch(r.stdout, /changed:/);
    });

    it("preflight reports unmet requirements in check-only mode and fails in apply mode", () => {
        const settings = { EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: 1, SKU_VCORE: 1, GPU_COUNT: 0, ROLE: "worker", REGISTRY_MIRRORS: "http://127.0.0.1:9" };
        const check = runScript(renderStep("preflight", true, settings));
        assert.strictEqual(check.status, 0, check.stderr);
        assert.match(check.stdout, /would fail: hostname is '.*' but the layout says 'no-such-host'/);
        assert.match(check.stdout, /warning: registry not reachable: http:\/\/127.0.0.1:9/);
        const facts = JSON.parse(check.stdout.trim().split("\n").pop()!);
        assert.ok(facts.problems >= 1 && facts.vcpus >= 1 && facts.memMb > 0);
        const apply = runScript(renderStep("preflight", false, settings));
        assert.strictEqual(apply.status, 1);
        assert.match(apply.stderr, /error: .*the layout says 'no-such-host'/);
    });

    it("run through sudo for a non-root user, failing with the fix when sudo wants a password", () => {
        assert.strictEqual(asRoot("root"), "bash -s");
        assert.match(asRoot("ubuntu"), /sudo -n true .*needs passwordless sudo.*exec sudo -n bash -s$/);
    });

    it("run several steps in one resource: helpers once, each step in order with its own settings", () => {
        const preflight = { EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: 1, SKU_VCORE: 1, GPU_COUNT: 0, ROLE: "worker", REGISTRY_MIRRORS: "http://127.0.0.1:9" };
        const text = renderSteps([{ step: "kernel" }, { step: "preflight", settings: preflight }], true);
        assert.strictEqual(text.match(/^write_file\(\) \{/gm)?.length, 1, "the helpers once");
        assert.ok(text.indexOf("# ---- step: kernel ----") < text.indexOf("# ---- step: preflight ----"));
        const r = runScript(text);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /\[kernel\] kernel prerequisites in place[\s\S]*\[preflight\]/, "a step's early exit ends that step only");
        const failing = runScript(renderSteps([{ step: "preflight", settings: preflight }, { step: "kernel" }], false));
        assert.strictEqual(failing.status, 1, "a failing step fails the resource");
        assert.doesNotMatch(failing.stdout, /\[kernel\]/, "and nothing after it runs");
    });

    it("join a worker from here: the token made on the master reaches the worker's join in memory only; leave a dead host with a note", () => {
        // A stand-in for ssh: records the target, then runs the script on its stdin here (check-only
        // steps change nothing); refuses the key of a host named *changed-key* as OpenSSH logs it (-E).
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-ssh-"));
        fs.writeFileSync(path.join(bin, "ssh"), `#!/usr/bin/env bash
while [[ "$1" != -- ]]; do
  case "$1" in -l) user="$2" ;; -E) log="$2" ;; esac
  shift 2
done
echo "$user@$2" >>"${bin}/targets"
[[ "$2" == dead-worker ]] && exit 255
[[ "$2" == reinstalled-worker ]] && exit 3
[[ "$2" == changed-key-* ]] && { echo "Host key verification failed." >"$log"; exit 255; }
exec bash -s
`, { mode: 0o755 });
        const at = (host: string) => ({ host, port: 22, user: "root", dialAttempts: 3, hostKey: `${ed25519} ${host} (note)` });
        const args = { connection: at("worker"), masterConnection: at("master"), nodeName: "w1", nodeIp: "10.0.1.1", nodeLabels: "pai-worker=true", apiEndpoint: "10.0.0.10:6443", checkOnly: true };
        const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, OPENPAI_SSH_KNOWN_HOSTS: `changed-key-worker ${at("changed-key-worker").hostKey}` };
        try {
            const join = spawnSync("bash", ["-c", joinScript(args)], { encoding: "utf8", env });
            assert.strictEqual(join.status, 0, join.stderr);
            assert.deepStrictEqual(fs.readFileSync(path.join(bin, "targets"), "utf8").trim().split("\n"), ["root@master", "root@worker", "root@master"]);
            assert.match(join.stdout, /\[join-token\] would create a 2-hour join token for w1[\s\S]*\[kubeadm-join\] would run: kubeadm join --config[\s\S]*\[join-token\] would delete the join tokens of w1\n[\s\S]*\[node\] node w1 labelled: pai-worker=true/);
            assert.doesNotMatch(join.stdout + join.stderr, /abcdef\.0123456789abcdef|token=/, "the token is not printed");
            const leave = spawnSync("bash", ["-c", leaveScript({ ...args, connection: at("dead-worker") })], { encoding: "utf8", env });
            assert.strictEqual(leave.status, 0, leave.stderr);
            assert.match(leave.stdout, /\[node\] would drain and delete node w1/);
            assert.match(leave.stderr, /openpai: dead-worker is unreachable: its node was deleted, the host itself was not reset/);
            const wiped = spawnSync("bash", ["-c", leaveScript({ ...args, connection: at("reinstalled-worker") })], { encoding: "utf8", env });
            assert.strictEqual(wiped.status, 0, wiped.stderr);
            assert.match(wiped.stderr, /openpai: reinstalled-worker was not provisioned by this stack \(or was reinstalled\): its node was deleted, nothing to reset there/);
            const changed = spawnSync("bash", ["-c", leaveScript({ ...args, connection: at("changed-key-worker") })], { encoding: "utf8", env });
            assert.strictEqual(changed.status, 0, changed.stderr);
            assert.match(changed.stderr, /openpai: the SSH host key of changed-key-worker is not the expected one: it offered another key, expected ED25519 SHA256:\S+ \(changed-key-worker \(note\)\)\. Refused before sending anything/);
            assert.match(changed.stderr, /openpai: changed-key-worker was not reset \(its SSH host key is not the known one, above\): its node was deleted/);
            const refused = spawnSync("bash", ["-c", joinScript({ ...args, connection: at("changed-key-worker") })], { encoding: "utf8", env });
            assert.strictEqual(refused.status, hostKeyRefusedExit, "a join stops at a host whose key changed");
            assert.match(refused.stderr, /the SSH host key of changed-key-worker is not the expected one/);
            assert.doesNotMatch(refused.stdout, /\[node\]/, "and runs nothing after it");
            assert.match(refused.stdout, /\[join-token\] would delete the join tokens of w1/, "but the token it made is deleted");
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    it("never print the join token: kubeadm init skips printing, the token step keeps stdout for the program", () => {
        const init = renderStep("kubeadm-init", false, {});
        assert.match(init, /kubeadm init --config "\$config" --skip-token-print --skip-certificate-key-print "\$\{init_args\[@\]\}"/);
        assert.doesNotMatch(init, /--upload-certs|ttl: "0s"/);
        // init's own token (it always makes one) lasts 15 minutes and is deleted once init is done.
        assert.match(init, /bootstrapTokens:\n- description: "\$init_token"\n {2}ttl: "15m"/);
        assert.match(init, /--skip-certificate-key-print "\$\{init_args\[@\]\}"\nif ! check_only && \(\(\$\(delete_bootstrap_tokens "\$init_token"\) > 0\)\); then/);
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

/** Public host keys (made with ssh-keygen for these tests). */
const ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHIa5Pn2udTGQiMnN1J8zRGGDsb9XCDntsw+IJdNQbw1";
const ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGrLiY+BTU4Eu9H/sxtnyThEDi54SVrzN47lLeUjSebBQ/MfPKxaVLW3JLt8/hiQX/4t2PeoIX6j+dFgaLuYwwk=";

describe("OpenPaiCluster in kubeadm mode (mocks)", () => {
    const registered: { type: string; name: string; inputs: any; dependencies: string[] }[] = [];
    const lastExpiry = "2000-01-01T00:00:00.000Z";

    before(async () => {
        await pulumi.runtime.setMocks({
            newResource: args => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs, dependencies: [] });
                // A host key resource reads the key its host shows.
                const state = args.type.startsWith("command:") ? { ...args.inputs, stdout: args.name.endsWith("-hostkey") ? `ssh-ed25519 AAAA-${args.name}` : "" }
                    : args.type.startsWith("random:") ? { ...args.inputs, result: `r-${args.name.slice(-6)}` }
                        // The last up's outputs: certificates that expired in 2000 are due for renewal.
                        : args.type === "pulumi:pulumi:StackReference" ? { ...args.inputs, outputs: { certificates: { validUntil: lastExpiry, renewalDays: 30, renewedFor: "" } } }
                            : args.inputs;
                return { id: `${args.name}-id`, state };
            },
            call: args => args.inputs,
        }, "openpai", "lab", false, "organization");
        const l = layout(2);
        l["machine-list"].push({ hostname: "cpu-0", hostip: "10.0.9.1", "machine-type": "master-machine", "pai-worker": true });
        const config = parseStackConfig(rawStack({
            layout: l, cluster: {
                name: "lab", aptProxy: "http://10.0.0.1:3142", aptMirror: "http://10.0.0.1:8080", aptMirrorKeyFingerprint: "8E3F675C92AF4F0C7054DB7AF205980D23F0B2B2",
                nvidiaRepositoryMirror: "http://10.0.0.3/nvidia", nvidiaRepositoryMirrorKeyFingerprint: "1234567890ABCDEF1234567890ABCDEF12345678", nvidiaKernelModules: "proprietary",
            }, devBox: { host: "10.0.0.2" },
            ssh: { bastion: { host: "jump.lab" }, hostKeys: { "jump.lab": ed25519 }, knownHosts: `# pai-worker-1\n10.0.1.2 ${ecdsa}\n` },
        }));
        new OpenPaiCluster("lab", { config, secrets: { sshPrivateKey: pulumi.secret("KEY") } });
        await registrationsSettled(registered);
    });

    const commands = () => registered.filter(r => r.type === "command:remote:Command");
    const secretSig = "4dabf18193072939515e22adb298388d";

    const named = (name: string) => registered.find(r => r.name === name)!;
    const steps = (text: string) => [...text.matchAll(/^# ---- step: (\S+) ----$/gm)].map(m => m[1]);

    it("declares a few resources per host, each running its steps in order, GPU steps only on GPU workers", () => {
        const names = commands().map(c => c.name);
        for (const name of ["provision", "runtime", "kubeadm-init", "kubeconfig", "node"]) {
            assert.ok(names.includes(`lab-hosts-pai-master-${name}`), `master ${name}`);
        }
        assert.deepStrictEqual(steps(named("lab-hosts-pai-master-provision").inputs.stdin), ["prepare", "preflight", "kernel"]);
        assert.deepStrictEqual(steps(named("lab-hosts-pai-master-runtime").inputs.stdin), ["kube-packages", "containerd"]);
        assert.deepStrictEqual(names.filter(n => n.startsWith("lab-hosts-pai-worker-0-")), ["lab-hosts-pai-worker-0-provision", "lab-hosts-pai-worker-0-runtime"]);
        assert.deepStrictEqual(steps(named("lab-hosts-pai-worker-0-provision").inputs.stdin), ["prepare", "preflight", "kernel"]);
        assert.deepStrictEqual(steps(named("lab-hosts-pai-worker-0-reboots").inputs.create),
            ["nvidia-driver", "reboot", "drain", "wait-boot"], "each remote script once, in a function: the worker's steps, the master's slot, the boot check");
        assert.deepStrictEqual(steps(named("lab-hosts-pai-worker-0-runtime").inputs.stdin), ["kube-packages", "containerd", "nvidia-toolkit"]);
        assert.strictEqual(registered.find(r => r.name === "lab-hosts-cpu-0-reboots"), undefined, "a CPU worker has nothing that reboots it (no workerRebootRevision)");
        assert.deepStrictEqual(steps(named("lab-hosts-cpu-0-provision").inputs.stdin), ["prepare", "preflight", "kernel"], "no driver on a CPU worker");
        assert.deepStrictEqual(steps(named("lab-hosts-cpu-0-runtime").inputs.stdin), ["kube-packages", "containerd"]);
        assert.deepStrictEqual(names.filter(n => n.startsWith("lab-hosts-devbox-")), ["lab-hosts-devbox-packages", "lab-hosts-devbox-devbox"]);
        assert.deepStrictEqual(steps(named("lab-hosts-devbox-packages").inputs.stdin), ["prepare", "kube-packages"]);
        assert.ok(registered.some(r => r.type === "openpai:hosts:MasterHost") && registered.some(r => r.type === "openpai:hosts:WorkerHost")
            && registered.some(r => r.type === "openpai:hosts:DevBox"));
        const perWorker = registered.filter(r => r.name.startsWith("lab-hosts-pai-worker-0")).map(r => r.type).sort();
        assert.deepStrictEqual(perWorker, ["command:local:Command", "command:local:Command", "command:local:Command", "command:local:Command", "command:remote:Command", "command:remote:Command", "openpai:hosts:WorkerHost"],
            "seven resources per GPU worker, one reading its SSH host key (none where the config gives it)");
    });

    it("renews the certificates before capturing the kubeconfig when the last up's output says they are due", () => {
        const reference = registered.find(r => r.type === "pulumi:pulumi:StackReference")!;
        assert.strictEqual(reference.inputs.name, "organization/openpai/lab", "the stack reads its own last outputs");
        const kubeconfig = named("lab-hosts-pai-master-kubeconfig").inputs.stdin;
        assert.deepStrictEqual(steps(kubeconfig), ["kubeconfig"]);
        assert.ok(kubeconfig.includes(`export RENEW_EXPIRING_BY='${lastExpiry}'`), "renew what expires by the recorded date");
    });

    it("sends the step helpers once per host: the first resource keeps them there, the later ones source that copy", () => {
        const file = helpersPath();
        assert.match(file, /^\/usr\/local\/lib\/openpai\/helpers-[0-9a-f]{16}\.sh$/);
        const provision = named("lab-hosts-pai-worker-0-provision").inputs.stdin;
        assert.ok(provision.includes(`cat >${file}.tmp <<'OPENPAI_HELPERS_EOF'\n`) && /^write_file\(\) \{/m.test(provision), "provision sends and keeps them");
        for (const later of [named("lab-hosts-pai-worker-0-runtime").inputs.stdin, named("lab-hosts-pai-master-kubeadm-init").inputs.stdin, named("lab-hosts-pai-worker-0-join").inputs.create]) {
            assert.ok(later.includes(`\nsource ${file}\n`), "later resources source the host's copy");
            assert.doesNotMatch(later, /^write_file\(\) \{/m, "and do not carry them");
        }
        assert.ok(named("lab-hosts-devbox-packages").inputs.stdin.includes(`cat >${file}.tmp`), "the dev box's first resource keeps them too");
    });

    it("runs steps as root through sudo, sends scripts on stdin, keeps connections secret and plain steps reviewable", () => {
        const provision = named("lab-hosts-pai-worker-0-provision");
        assert.match(provision.inputs.create, /exec sudo -n bash -s$/);
        assert.ok(provision.inputs.connection[secretSig], "the connection is a secret");
        assert.strictEqual(provision.inputs.connection.value.dialErrorLimit, 30);
        assert.strictEqual(typeof provision.inputs.stdin, "string", "a plain step stays reviewable in previews");
        const devbox = named("lab-hosts-devbox-devbox");
        assert.strictEqual(devbox.inputs.create, "bash -s", "the dev box's kubeconfig goes to the SSH user");
        assert.ok(devbox.inputs.stdin[secretSig], "the dev box's kubeconfig is a secret");
    });

    it("sets apt's proxy on every host, with the Kubernetes and NVIDIA mirrors reached directly", () => {
        assert.match(named("lab-hosts-pai-worker-0-provision").inputs.stdin, /export APT_PROXY='http:\/\/10.0.0.1:3142'\nexport APT_DIRECT_HOSTS='10.0.0.1:8080 10.0.0.3'/);
    });

    it("hands the driver, mirror and key settings to the steps that read them", () => {
        const provision = named("lab-hosts-pai-worker-0-provision").inputs.stdin;
        assert.match(provision, /export NVIDIA_DRIVER='install'\n/, "preflight checks the distribution can install the driver");
        assert.doesNotMatch(named("lab-hosts-cpu-0-provision").inputs.stdin, /export NVIDIA_DRIVER=/, "no driver check on a CPU worker");
        const runtime = named("lab-hosts-pai-worker-0-runtime").inputs.stdin;
        assert.match(runtime, /export APT_KEY_FINGERPRINT='8E3F675C92AF4F0C7054DB7AF205980D23F0B2B2'\n/);
        assert.match(runtime, /export NVIDIA_REPOSITORY='http:\/\/10.0.0.3\/nvidia'\nexport NVIDIA_KEY_FINGERPRINT='1234567890ABCDEF1234567890ABCDEF12345678'\n/);
        assert.match(named("lab-hosts-devbox-packages").inputs.stdin, /export APT_KEY_FINGERPRINT='8E3F675C92AF4F0C7054DB7AF205980D23F0B2B2'\n/);
    });

    it("reboots a worker drained, one slot at a time, and only when its steps say it must", () => {
        const reboots = named("lab-hosts-pai-worker-0-reboots");
        const script: string = reboots.inputs.create;
        assert.ok(script.includes(`printf 'export REBOOT_PLAN=%q\\n' "$plan"; `), "the steps learn from the call whether they only decide");
        assert.match(script, /export DRIVER_BRANCH='580'\nexport NVIDIA_DRIVER='install'\nexport NVIDIA_KERNEL_MODULES='proprietary'/);
        assert.match(script, /export NODE_NAME='pai-worker-0'\nexport REBOOT_BATCH_SIZE='1'/, "one worker drained at a time by default");
        const order = ["\nplan=\"$(worker_steps 1)\"", "\nclaim_slot\n", "\nworker_steps 0\n", "\n    wait_boot\n", "\nslot release\n"].map(call => script.indexOf(call));
        assert.ok(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1])), `asked, drained, run, booted, released, in that order: ${order}`);
        assert.match(script, /export GPU_COUNT='8'/, "nvidia-smi must see the layout's GPUs before the uncordon");
        assert.ok(script.includes("on_host '10.0.0.10' 22 ") && script.includes("on_host '10.0.1.1' 22 "), "the master drains, the worker reboots");
        assert.doesNotMatch(named("lab-hosts-pai-worker-0-runtime").inputs.stdin, /wait-boot/, "the runtime no longer waits for a boot");
        assert.strictEqual(named("lab-hosts-pai-worker-0-runtime").inputs.connection.value.dialErrorLimit, 30);
    });

    it("joins from here over SSH to the master and the worker, with no token in its inputs; leaves by draining, then resetting", () => {
        const join = registered.find(r => r.type === "command:local:Command" && r.name === "lab-hosts-pai-worker-0-join")!;
        assert.ok(join.inputs.create.includes("on_host '10.0.0.10' 22 "), "the token and the node labels on the master");
        assert.ok(join.inputs.create.includes("on_host '10.0.1.1' 22 "), "the join on the worker");
        // The token is deleted after the join: on its failure path, or before the node step.
        assert.deepStrictEqual(steps(join.inputs.create), ["join-token", "kubeadm-join", "join-token", "join-token", "node"]);
        assert.strictEqual([...join.inputs.create.matchAll(/TOKEN_ACTION='delete'/g)].length, 2);
        assert.match(join.inputs.create, /NODE_LABELS='pai-master- pai-worker=true pai-storage- nvidia.com\/gpu.present=true'/);
        assert.match(join.inputs.create, /printf 'export JOIN_TOKEN=%q\\n' "\$token"; printf 'export CA_CERT_HASH=%q\\n' "\$ca_cert_hash"/,
            "the token and the CA's hash are made on the master when the join runs");
        assert.deepStrictEqual(steps(join.inputs.delete), ["node", "kubeadm-reset"]);
        assert.match(join.inputs.delete, /NODE_REMOVE='1'/);
        assert.match(join.inputs.delete, /rc == 255/);
        assert.ok(join.inputs.environment[secretSig] || join.inputs.environment.OPENPAI_SSH_KEY[secretSig], "the SSH key stays secret");
        const reset = named("lab-hosts-pai-master-reset");
        assert.strictEqual(reset.inputs.create, undefined, "the master's reset runs on delete only");
        assert.deepStrictEqual(steps(reset.inputs.delete), ["kubeadm-reset"]);
    });

    it("checks every SSH host key: the configured one, else the one read once on the first up, the bastion's too", () => {
        const scans = registered.filter(r => r.name.endsWith("-hostkey"));
        assert.deepStrictEqual(scans.map(r => r.name).sort(), ["lab-hosts-cpu-0-hostkey", "lab-hosts-devbox-hostkey", "lab-hosts-pai-master-hostkey", "lab-hosts-pai-worker-0-hostkey"],
            "one per host the config gives no key for (pai-worker-1 and the bastion have one)");
        const scan = named("lab-hosts-pai-worker-0-hostkey");
        assert.match(scan.inputs.create, /reach_options '10\.0\.1\.1' 22\n[\s\S]*-o StrictHostKeyChecking=accept-new [\s\S]*-o PreferredAuthentications=none -l 'ubuntu' -- '10\.0\.1\.1' true/);
        assert.strictEqual(scan.inputs.update, `printf '%s\\n' "$PULUMI_COMMAND_STDOUT"`, "an update keeps the key read on create");
        assert.strictEqual(scan.inputs.addPreviousOutputInEnv, true);
        const scanEnv = scan.inputs.environment[secretSig] ? scan.inputs.environment.value : scan.inputs.environment;
        assert.strictEqual(scanEnv.OPENPAI_SSH_BASTION_HOST, "jump.lab", "read through the bastion");
        const bastionLine = `jump.lab ${ed25519} the bastion (jump.lab:22): key from openpai:ssh.hostKeys; if the host was reinstalled, give its new key there`;
        assert.strictEqual(scanEnv.OPENPAI_SSH_KNOWN_HOSTS, bastionLine, "whose own key is checked");

        const connection = (name: string) => named(name).inputs.connection.value;
        const kept = new RegExp("^ssh-ed25519 AAAA-lab-hosts-pai-worker-0-hostkey pai-worker-0 \\(10\\.0\\.1\\.1:22\\): key kept since the first up; if the host was reinstalled, "
            + "accept its new key with pulumi up --replace 'urn:pulumi:lab::openpai::\\S+::lab-hosts-pai-worker-0-hostkey', or give it in openpai:ssh\\.hostKeys$");
        for (const name of ["lab-hosts-pai-worker-0-provision", "lab-hosts-pai-worker-0-runtime"]) {
            assert.match(connection(name).hostKey, kept);
            assert.strictEqual(connection(name).proxy.hostKey, bastionLine.replace(/^jump\.lab /, ""));
        }
        assert.strictEqual(connection("lab-hosts-pai-worker-1-provision").hostKey,
            `${ecdsa} pai-worker-1 (10.0.1.2:22): key from openpai:ssh.knownHosts; if the host was reinstalled, give its new key there`);
        assert.match(connection("lab-hosts-pai-master-kubeadm-init").hostKey, /^ssh-ed25519 AAAA-lab-hosts-pai-master-hostkey pai-master \(10\.0\.0\.10:22\)/);
        assert.match(connection("lab-hosts-devbox-devbox").hostKey, /^ssh-ed25519 AAAA-lab-hosts-devbox-hostkey the dev box \(10\.0\.0\.2:22\)/);

        const join = named("lab-hosts-pai-worker-0-join");
        const joinEnv = join.inputs.environment[secretSig] ? join.inputs.environment.value : join.inputs.environment;
        const knownHosts = joinEnv.OPENPAI_SSH_KNOWN_HOSTS.split("\n");
        assert.deepStrictEqual(knownHosts.map((line: string) => line.split(" ")[0]), ["10.0.1.1", "10.0.0.10", "jump.lab"], "the join checks the worker, the master and the bastion");
        assert.match(knownHosts[0].replace(/^10\.0\.1\.1 /, ""), kept);
    });

    it("installs the pod network and deploys the PAI services on the new cluster's provider", () => {
        assert.ok(registered.some(r => r.type === "pulumi:providers:kubernetes" && r.name === "lab-provider"));
        assert.ok(registered.some(r => r.type === "openpai:kubernetes:PodNetwork"));
        assert.ok(registered.some(r => r.type === "kubernetes:apps/v1:DaemonSet" && r.name.endsWith("kube-system-daemonset-kube-router")));
        assert.ok(registered.some(r => r.type === "openpai:pai:HivedScheduler"));
    });
});
