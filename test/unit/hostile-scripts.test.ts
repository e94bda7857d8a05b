import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../config";
import { OpenPaiCluster } from "../../components/cluster";
import { HostCommonArgs, preparePart, runtimeParts } from "../../components/hosts/host-steps";
import { renderSteps, StepPart, StepSettings } from "../../components/hosts/scripts";
import { StepInputPart } from "../../components/hosts/step";
import { layout, rawStack, registrationsSettled, runScript } from "./helpers";

/**
 * The host scripts with the worst values the validator lets through (every character a URL,
 * host or user field allows), and with a password made of shell syntax: every script parses,
 * the settings prelude runs nothing, apt's and containerd's files say exactly what was meant, and
 * the password stays out of the output and in a root-only file. Then values the validator would
 * refuse, sent to the scripts directly: each script refuses them again (issue 18 part 5).
 */

/** Shell, apt and TOML syntax: a password may hold any of it (no whitespace: apt's auth.conf cannot). */
const password = `p'"$(touch\${IFS}pwned)\`touch\${IFS}pwned\`;|&<>\\!#*?[]{}~%^=é`;
const worst = {
    aptProxy: "http://proxy-1.example-2.com:65535/",
    aptMirror: "https://xn--mirror-9ua.example-1.com:8443/k8s/~x+y/%2F:v/",
    registryMirrors: ["http://[fd00::1]:5000", "https://a.example.com/v2/~+:%41"],
    user: "robot$pai+ci@x~.y_z-",
};

function worstStack(): Record<string, unknown> {
    return {
        layout: layout(1),
        cluster: {
            name: "worst", aptProxy: worst.aptProxy, aptProxyUser: worst.user, aptMirror: worst.aptMirror, aptMirrorUser: worst.user,
            registryMirrors: worst.registryMirrors, apiServerEndpoint: "api-1.example.com:65535", portalHost: "pai-1.example.com",
            kubeletEvictionHard: { "memory.available": "100.5Mi", "nodefs.available": "10%", "imagefs.inodesFree": "5%" },
        },
        ssh: { user: "_a.b-c", bastion: { host: "fd00::22", user: "jump.user_1" } },
        devBox: { host: "Dev-Box.Example.COM", user: "first.last" },
    };
}

function has(command: string): boolean {
    return spawnSync("bash", ["-c", `command -v ${command}`]).status === 0;
}

/** Settings parts with their Outputs resolved (the values the host receives). */
async function resolved(parts: StepInputPart[]): Promise<StepPart[]> {
    return Promise.all(parts.map(part => new Promise<StepPart>(resolve =>
        pulumi.output(part.settings ?? {}).apply(settings => resolve({ step: part.step, settings: settings as StepSettings })))));
}

/** Test double for lib.sh's write_file: keeps what a step writes (and the mode) under $CAPTURE. */
const captureWrites = `write_file() {
  local out
  out="$CAPTURE/$(printf '%s' "$1" | tr / _)"
  cat >"$out"
  printf '%s' "$2" >"$out.mode"
  log "would write $1"
}
`;

/** Runs steps here in check-only mode, keeping what they would write. */
function runCaptured(parts: StepPart[]): { status: number | null; stdout: string; stderr: string; files: Record<string, { text: string; mode: string }> } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-capture-"));
    try {
        const text = renderSteps(parts, true);
        const at = text.indexOf("\n# ---- step: ");
        const r = runScript(`${text.slice(0, at)}\n${captureWrites}${text.slice(at)}`, { CAPTURE: dir }, dir);
        const files: Record<string, { text: string; mode: string }> = {};
        for (const name of fs.readdirSync(dir).filter(f => f.startsWith("_") && !f.endsWith(".mode"))) {
            files[name.replace(/_/g, "/")] = { text: fs.readFileSync(path.join(dir, name), "utf8"), mode: fs.readFileSync(path.join(dir, `${name}.mode`), "utf8") };
        }
        assert.ok(!fs.existsSync(path.join(dir, "pwned")), "a value ran as a command");
        return { ...r, files };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const common = (overrides: Partial<HostCommonArgs> = {}): HostCommonArgs => ({
    kubernetesVersion: "v1.34.3", registryMirrors: worst.registryMirrors, aptMirror: worst.aptMirror, aptProxy: worst.aptProxy,
    apiEndpoint: "api-1.example.com:65535", checkOnly: true, podNetworkOverlay: { overlay: "full", encapsulation: "fou" },
    aptLogins: { proxy: { user: worst.user, password }, mirror: { user: worst.user, password } }, ...overrides,
});

describe("host scripts with the worst values", () => {
    const registered: { type: string; name: string; inputs: any }[] = [];
    const secretSig = "4dabf18193072939515e22adb298388d";
    const plain = (v: any): string => v?.[secretSig] ? v.value : v;

    before(async () => {
        await pulumi.runtime.setMocks({
            newResource: args => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                const state = args.type.startsWith("command:") ? { ...args.inputs, stdout: "" }
                    : args.type.startsWith("random:") ? { ...args.inputs, result: `r-${args.name.slice(-6)}` } : args.inputs;
                return { id: `${args.name}-id`, state };
            },
            call: args => args.inputs,
        }, "openpai", "worst", false, "organization");
        const config = parseStackConfig(rawStack(worstStack(), ["sshPrivateKey", "aptProxyPassword", "aptMirrorPassword"]));
        new OpenPaiCluster("worst", { config, secrets: {
            sshPrivateKey: pulumi.secret("KEY"), aptProxyPassword: pulumi.secret(password), aptMirrorPassword: pulumi.secret(password),
        } });
        await registrationsSettled(registered);
    });

    const commands = () => registered.filter(r => r.type.startsWith("command:"));
    const scripts = () => commands().flatMap(c => [c.inputs.stdin, c.inputs.create, c.inputs.delete].map(plain).filter((t): t is string => typeof t === "string"));

    it("every script of every host parses (bash -n)", () => {
        assert.ok(scripts().length >= 10, `${scripts().length} scripts`);
        for (const text of scripts()) {
            const r = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
            assert.strictEqual(r.status, 0, `${r.stderr}\n${text.slice(0, 400)}`);
        }
    });

    it("the settings preludes run nothing: every value arrives as written", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-prelude-"));
        try {
            let preludes = 0;
            for (const text of scripts()) {
                for (const m of text.matchAll(/# ---- step: \S+ ----\n\(\n([\s\S]*?)\n#!\/usr\/bin\/env bash/g)) {
                    const names = [...m[1].matchAll(/^export ([A-Z_]+)=/gm)].map(n => n[1]);
                    const r = spawnSync("env", ["-i", "PATH=/usr/bin:/bin", "bash", "-c", `${m[1]}\nfor v in ${names.join(" ")}; do printf '%s=%s\\0' "$v" "\${!v}"; done`],
                        { encoding: "utf8", cwd: dir });
                    assert.strictEqual(r.status, 0, r.stderr);
                    const values = Object.fromEntries(r.stdout.split("\0").filter(Boolean).map(kv => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
                    for (const key of ["APT_PROXY_PASSWORD", "APT_MIRROR_PASSWORD"].filter(k => k in values)) {
                        assert.strictEqual(values[key], password, `${key} arrives as written`);
                    }
                    for (const key of ["APT_PROXY", "APT_MIRROR", "APT_PROXY_USER", "REGISTRY_MIRRORS"].filter(k => k in values)) {
                        assert.ok([worst.aptProxy, worst.aptMirror, worst.user, worst.registryMirrors.join(" ")].includes(values[key]), `${key}=${values[key]}`);
                    }
                    preludes++;
                }
            }
            assert.ok(preludes >= 15, `${preludes} preludes`);
            assert.deepStrictEqual(fs.readdirSync(dir), [], "nothing ran");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the resources that carry the passwords keep their script secret; the others stay reviewable and never hold them", () => {
        const carrying = commands().filter(c => (plain(c.inputs.stdin) ?? "").includes("APT_PROXY_PASSWORD"));
        assert.deepStrictEqual(carrying.map(c => c.name).sort(), ["worst-hosts-devbox-packages", "worst-hosts-pai-master-provision", "worst-hosts-pai-worker-0-provision"]);
        for (const c of carrying) {
            assert.ok(c.inputs.stdin[secretSig], `${c.name}: stdin is a secret`);
        }
        const runtime = registered.find(r => r.name === "worst-hosts-pai-worker-0-runtime")!;
        assert.strictEqual(typeof runtime.inputs.stdin, "string", "runtime stays reviewable");
        for (const c of commands().filter(c => !carrying.includes(c))) {
            for (const text of [c.inputs.stdin, c.inputs.create, c.inputs.delete].map(plain).filter(Boolean)) {
                assert.ok(!String(text).includes(password), `${c.name} holds the password`);
            }
        }
    });

    it("prepare writes apt's settings and the logins as meant: no extra option, logins root-only, the password never printed", async () => {
        const r = runCaptured(await resolved([preparePart(common())]));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), "the password is printed");
        const conf = r.files["/etc/apt/apt.conf.d/90openpai"];
        assert.strictEqual(conf.mode, "0644");
        const auth = r.files["/etc/apt/auth.conf.d/90openpai.conf"];
        assert.strictEqual(auth.mode, "0600");
        assert.strictEqual(auth.text, [
            `machine https://xn--mirror-9ua.example-1.com:8443/k8s/~x+y/%2F:v login ${worst.user} password ${password}`,
            `machine http://proxy-1.example-2.com:65535 login ${worst.user} password ${password}`, ""].join("\n"));
        if (!has("apt-config")) {
            return;
        }
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "openpai-apt-")), "90openpai");
        fs.writeFileSync(file, conf.text);
        const before = new Set(spawnSync("apt-config", ["dump"], { encoding: "utf8" }).stdout.split("\n"));
        const after = spawnSync("apt-config", ["-c", file, "dump"], { encoding: "utf8" }).stdout.split("\n");
        const added = after.filter(l => !before.has(l) && !l.startsWith("CommandLine::") && !/^\S+ "";$/.test(l)).sort();
        assert.deepStrictEqual(added, [
            `Acquire::http::Proxy "${worst.aptProxy}";`, "Acquire::http::Proxy::xn--mirror-9ua.example-1.com \"DIRECT\";",
            `Acquire::https::Proxy "${worst.aptProxy}";`, "Acquire::https::Proxy::xn--mirror-9ua.example-1.com \"DIRECT\";",
            "DPkg::Lock::Timeout \"600\";",
        ]);
    });

    it("prepare without logins writes no auth file", async () => {
        const r = runCaptured(await resolved([preparePart(common({ aptLogins: {} }))]));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(Object.keys(r.files), ["/etc/apt/apt.conf.d/90openpai"]);
    });

    it("containerd writes each mirror as a TOML string that reads back as written; kube-packages one sources line", async function () {
        const r = runCaptured(await resolved(runtimeParts(common())));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.files["/etc/apt/sources.list.d/kubernetes.list"].text,
            `deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] ${worst.aptMirror}/core:/stable:/v1.34/deb/ /\n`);
        const hosts = r.files["/etc/containerd/certs.d/docker.io/hosts.toml"];
        assert.ok(hosts, Object.keys(r.files).join(", "));
        if (!has("python3") || spawnSync("python3", ["-c", "import tomllib"]).status !== 0) {
            this.skip();
        }
        const parsed = JSON.parse(spawnSync("python3", ["-c", "import json, sys, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))"],
            { input: hosts.text, encoding: "utf8" }).stdout);
        assert.deepStrictEqual(parsed, { server: "https://registry-1.docker.io", host: Object.fromEntries(worst.registryMirrors.map(m => [m, { capabilities: ["pull", "resolve"] }])) });
    });

    describe("values the validator refuses, sent to the scripts directly, are refused again", () => {
        const injection = "http://proxy:3142\";\nAPT::Update::Pre-Invoke {\"touch pwned\";};\n//";
        it("prepare: a URL that would add an apt option, a host apt cannot name, a login apt's auth.conf cannot hold", () => {
            const cases: [StepSettings, RegExp][] = [
                [{ APT_PROXY: injection }, /error: cluster.aptProxy is not a plain URL/],
                [{ APT_PROXY: "http://proxy:3142", APT_DIRECT_HOSTS: "a\";x" }, /error: cluster.aptMirror has a host/],
                [{ APT_MIRROR: "http://m/ x", APT_MIRROR_USER: "u", APT_MIRROR_PASSWORD: "p" }, /error: cluster.aptMirror is not a plain URL/],
                [{ APT_PROXY: "http://proxy:3142", APT_PROXY_USER: "u", APT_PROXY_PASSWORD: "two words" }, /error: openpai:aptProxyPassword is empty or has whitespace/],
                [{ APT_PROXY: "http://proxy:3142", APT_PROXY_USER: "u", APT_PROXY_PASSWORD: "" }, /error: openpai:aptProxyPassword is empty/],
                [{ APT_MIRROR: "http://m", APT_MIRROR_USER: "a b", APT_MIRROR_PASSWORD: "p" }, /error: cluster.aptMirrorUser has whitespace/],
            ];
            for (const [settings, message] of cases) {
                const r = runCaptured([{ step: "prepare", settings }]);
                assert.strictEqual(r.status, 1, `${JSON.stringify(settings)}: ${r.stdout}`);
                assert.match(r.stderr, message);
                assert.ok(!r.stderr.includes("two words") && !r.stdout.includes("two words"), "the password is printed");
                assert.ok(!r.files["/etc/apt/auth.conf.d/90openpai.conf"], "a login was written");
            }
        });
        it("kube-packages: a mirror that would add a sources.list line", () => {
            const r = runCaptured([{ step: "kube-packages", settings: { K8S_VERSION: "v1.34.3", APT_MIRROR: "http://x/ /\ndeb [trusted=yes] http://evil/" } }]);
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /error: cluster.aptMirror is not a plain URL/);
            assert.deepStrictEqual(r.files, {});
        });
        it("containerd: quotes and backslashes are escaped, a control character stops the step", () => {
            const quoted = runCaptured([{ step: "containerd", settings: { K8S_VERSION: "v1.34.3", REGISTRY_MIRRORS: "http://a\"]\\x" } }]);
            assert.strictEqual(quoted.status, 0, quoted.stderr);
            assert.match(quoted.files["/etc/containerd/certs.d/quay.io/hosts.toml"].text, /^\[host\."http:\/\/a\\"\]\\\\x"\]$/m);
            const control = runCaptured([{ step: "containerd", settings: { K8S_VERSION: "v1.34.3", REGISTRY_MIRRORS: "http://a\u0001[x]" } }]);
            assert.strictEqual(control.status, 1);
            assert.match(control.stderr, /error: cluster.registryMirrors has a control character/);
            assert.deepStrictEqual(control.files, {});
        });
        it("preflight: a mirror address is data, never code or a glob", () => {
            const r = runCaptured([{ step: "preflight", settings: {
                EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: 1, SKU_VCORE: 1, GPU_COUNT: 0, ROLE: "worker",
                REGISTRY_MIRRORS: "http://$(touch${IFS}pwned):1 http://[::1]:9 http://127.0.0.1:9/*",
            } }]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, /registry not reachable: http:\/\/\$\(touch\$\{IFS\}pwned\):1 http:\/\/\[::1\]:9 http:\/\/127.0.0.1:9\/\*/);
        });
    });
});
