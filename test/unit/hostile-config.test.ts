import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { ConfigError, parseStackConfig, parseStackYaml, printable } from "../../config";
import { layout, openpai, rawStack } from "./helpers";

/**
 * Hostile values in every field that names something (a host, a user, a URL, a version, a
 * Kubernetes name): each is refused with its field path, without a stack trace, by the schema
 * and by `openpai validate` (security review finding 6, issue 18 part 5).
 */

/** Values no name, address, user or URL may be. */
const attacks: Record<string, string> = {
    "double quote": "a\"b",
    "single quote": "a'b",
    "command substitution": "$(touch /tmp/openpai-pwned)",
    "backticks": "`touch /tmp/openpai-pwned`",
    "newline": "a\nAPT::Update::Pre-Invoke {\"touch /tmp/openpai-pwned\";};",
    "carriage return": "a\rb",
    "semicolon": "a;touch /tmp/openpai-pwned",
    "pipe": "a|touch /tmp/openpai-pwned",
    "ampersand": "a&b",
    "NUL": "a\u0000b",
    "space": "a b",
    "tab": "a\tb",
    "backslash": "a\\b",
    "glob": "a*b",
    "variable": "${IFS}",
    "redirect": "a>b",
    "very long": "a".repeat(20_000),
    "unicode lookalike": "\u0440ai-master",
    "fullwidth": "\uff48ost",
    "right-to-left override": "a\u202eb",
    "zero-width space": "a\u200bb",
    "empty": "",
};
/** Of those, the ones free text (a description, a file path) refuses too. */
const textAttacks = ["newline", "carriage return", "NUL", "tab", "very long", "right-to-left override", "zero-width space"];

/** A stack using every field below with a valid value. */
function goodStack(): Record<string, any> {
    return {
        layout: layout(2),
        cluster: {
            name: "lab", paiVersion: "v1.8.0", kubernetesVersion: "v1.34.3", podCidr: "10.200.0.0/13", serviceCidr: "10.192.0.0/13",
            registry: { domain: "registry.example.com:5000", namespace: "team/pai", username: "robot$pai+ci" },
            registryMirrors: ["http://mirror.example.com:5000"], aptMirror: "http://apt.example.com/k8s", aptMirrorUser: "mirror",
            aptProxy: "http://proxy.example.com:3142", aptProxyUser: "proxy", apiServerEndpoint: "api.example.com:6443",
            portalHost: "pai.example.com", kubeconfigPath: "/home/admin/kubeconfig", nvidiaDriverBranch: "580",
            nvidiaToolkitVersion: "1.17.8-1", kubeletEvictionHard: { "nodefs.available": "1Gi" },
            aptMirrorKeyFingerprint: "8E3F675C92AF4F0C7054DB7AF205980D23F0B2B2", nvidiaKernelModules: "proprietary",
            nvidiaRepositoryMirror: "http://apt.example.com/nvidia", nvidiaRepositoryMirrorKeyFingerprint: "C95B321B61E88C1809C4F759DDCAE044F796ECB0",
        },
        ssh: { user: "ubuntu", bastion: { host: "jump.example.com", user: "jump" } },
        devBox: { host: "devbox.example.com", user: "admin" },
        virtualClusters: { vc1: { "gpu-machine": { nodes: 1, pinned: ["pai-worker-1"] } } },
        groups: [{ name: "g1", description: "researchers", virtualClusters: ["vc1"] }],
        adminUser: "admin",
    };
}
const secrets = ["sshPrivateKey", "registryPassword", "aptProxyPassword", "aptMirrorPassword"];

type Segment = string | number;
/** Fields whose value is a name, address, user, URL or version: every attack is refused there. */
const nameFields: Segment[][] = [
    ["cluster", "aptProxy"], ["cluster", "aptMirror"], ["cluster", "registryMirrors", 0],
    ["cluster", "apiServerEndpoint"], ["cluster", "portalHost"], ["cluster", "registry", "domain"], ["ssh", "bastion", "host"], ["devBox", "host"],
    ["ssh", "user"], ["ssh", "bastion", "user"], ["devBox", "user"],
    ["cluster", "aptProxyUser"], ["cluster", "aptMirrorUser"], ["cluster", "registry", "username"], ["adminUser"],
    ["cluster", "name"], ["cluster", "paiVersion"], ["cluster", "kubernetesVersion"], ["cluster", "registry", "namespace"],
    ["cluster", "nvidiaDriverBranch"], ["cluster", "nvidiaToolkitVersion"], ["cluster", "podCidr"], ["cluster", "serviceCidr"],
    ["cluster", "kubeletEvictionHard", "nodefs.available"], ["cluster", "nvidiaRepositoryMirror"], ["cluster", "aptMirrorKeyFingerprint"],
    ["cluster", "nvidiaRepositoryMirrorKeyFingerprint"], ["cluster", "nvidiaKernelModules"],
    ["layout", "machine-list", 1, "hostname"], ["layout", "machine-list", 1, "hostip"], ["layout", "machine-list", 1, "machine-type"],
    ["layout", "machine-sku", "gpu-machine", "mem"], ["layout", "machine-sku", "gpu-machine", "computing-device", "type"],
    ["groups", 0, "name"], ["groups", 0, "virtualClusters", 0], ["virtualClusters", "vc1", "gpu-machine", "pinned", 0],
];
/** Free text: only the text attacks are refused (quotes and the like are text). */
const textFields: Segment[][] = [["groups", 0, "description"], ["layout", "machine-sku", "gpu-machine", "computing-device", "model"], ["cluster", "kubeconfigPath"]];
/** Keys that are names: [the object holding them, the key replaced, where the problem is reported]. */
const keyFields: { parent: Segment[]; key: string; reportedAt: (attack: string) => Segment[] }[] = [
    { parent: ["layout", "machine-sku"], key: "master-machine", reportedAt: a => ["layout", "machine-sku", a] },
    { parent: ["virtualClusters"], key: "vc1", reportedAt: a => ["virtualClusters", a] },
    { parent: ["virtualClusters", "vc1"], key: "gpu-machine", reportedAt: a => ["virtualClusters", "vc1", a] },
    { parent: ["cluster", "kubeletEvictionHard"], key: "nodefs.available", reportedAt: () => ["cluster", "kubeletEvictionHard"] },
];

function fieldPath(segments: Segment[]): string {
    return segments.map((s, i) => typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`).join("");
}

function at(stack: any, segments: Segment[]): any {
    return segments.reduce((o, s) => o[s], stack);
}

function withValue(stack: any, segments: Segment[], value: unknown): any {
    at(stack, segments.slice(0, -1))[segments[segments.length - 1]] = value;
    return stack;
}

function withKey(stack: any, parent: Segment[], key: string, replacement: string): any {
    const holder = at(stack, parent);
    holder[replacement] = holder[key];
    delete holder[key];
    return stack;
}

/** The ConfigError a stack raises (failing the test if it raises anything else, or nothing). */
function refusal(values: Record<string, unknown>): ConfigError {
    try {
        parseStackConfig(rawStack(values, secrets));
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${(err as Error).stack}`);
        return err;
    }
    assert.fail("the stack was accepted");
}

/** What a report must never print as is: control characters but the newline, and invisible marks. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const rawUnprintable = /[\u0000-\u0009\u000b-\u001f\u007f\u202e\u200b]/;

function assertReported(err: ConfigError, where: string, what: string): void {
    assert.ok(err.issues.some(i => i.path === where), `${what}: no problem at ${printable(where)}: ${printable(JSON.stringify(err.issues.map(i => i.path)))}`);
    assert.doesNotMatch(err.message, /\n\s+at /, `${what}: a stack trace`);
    assert.doesNotMatch(err.message, rawUnprintable, `${what}: the report carries raw control or invisible characters`);
    assert.strictEqual(err.message.split("\n").length, err.issues.length + 1, `${what}: one line per problem`);
    assert.ok(err.message.length < 4000 * (err.issues.length + 1), `${what}: the report quotes a huge value whole`);
}

describe("hostile config values", () => {
    it("the good stack using every field is accepted (so each refusal below is the value's)", () => {
        const config = parseStackConfig(rawStack(goodStack(), secrets));
        assert.strictEqual(config.cluster.aptProxyUser, "proxy");
    });

    describe("the schema refuses them with the field path", () => {
        for (const field of nameFields) {
            it(fieldPath(field), () => {
                for (const [name, attack] of Object.entries(attacks)) {
                    assertReported(refusal(withValue(goodStack(), field, attack)), fieldPath(field), name);
                }
            });
        }
        for (const field of textFields) {
            it(`${fieldPath(field)} (free text)`, () => {
                for (const name of textAttacks) {
                    assertReported(refusal(withValue(goodStack(), field, attacks[name])), fieldPath(field), name);
                }
                for (const name of ["double quote", "single quote", "command substitution", "backticks", "semicolon", "unicode lookalike"]) {
                    const config = parseStackConfig(rawStack(withValue(goodStack(), field, attacks[name]), secrets));
                    assert.strictEqual(at(config, field), attacks[name], `${name} is text here, kept as written`);
                }
            });
        }
        for (const { parent, key, reportedAt } of keyFields) {
            it(`${fieldPath([...parent, "<key>"])} (a name as a key)`, () => {
                for (const [name, attack] of Object.entries(attacks)) {
                    if (attack === "") {
                        continue;
                    }
                    assertReported(refusal(withKey(goodStack(), parent, key, attack)), fieldPath(reportedAt(attack)), name);
                }
            });
        }
        it("URL fields: an attack inside an otherwise good URL", () => {
            for (const field of nameFields.slice(0, 3)) {
                for (const [name, attack] of Object.entries(attacks)) {
                    if (attack === "") {
                        continue;
                    }
                    for (const url of [`http://proxy.example.com:3142/${attack}`, `http://${attack}.example.com`, `http://proxy.example.com:${attack}`, `http://${attack}@proxy.example.com`]) {
                        assertReported(refusal(withValue(goodStack(), field, url)), fieldPath(field), `${name} in ${JSON.stringify(url).slice(0, 80)}`);
                    }
                }
            }
        });
        it("URL fields: a login, a query, a malformed address, another scheme, an encoded control character", () => {
            const cases: [string, RegExp][] = [
                ["http://user:secret@proxy.example.com:3142", /must not hold a user or password.*aptProxyUser.*openpai:aptProxyPassword/],
                ["http://[bad", /IPv6|host/], ["http://[::1", /IPv6|host/], ["http://10.0.0.300:3142", /last label is a number/],
                ["http://010.0.0.1", /last label is a number/], ["http://proxy.example.com:0", /port/], ["http://proxy.example.com:65536", /port/],
                ["http://proxy.example.com/?x=1", /query/], ["ftp://proxy.example.com", /http:\/\/ or https:\/\//], ["proxy.example.com:3142", /http:\/\//],
                ["http://proxy.example.com/path", /must not have a path/], ["http://", /name a host/],
            ];
            for (const [url, message] of cases) {
                const err = refusal(withValue(goodStack(), ["cluster", "aptProxy"], url));
                assert.ok(err.issues.some(i => i.path === "cluster.aptProxy" && message.test(i.message)), `${url}: ${JSON.stringify(err.issues)}`);
            }
            const encoded = refusal(withValue(goodStack(), ["cluster", "aptMirror"], "http://apt.example.com/k8s%0a"));
            assert.ok(encoded.issues.some(i => i.path === "cluster.aptMirror" && /control character/.test(i.message)));
        });
        it("numbers: out of range, not whole, not finite, or text", () => {
            const fields: Segment[][] = [["ssh", "port"], ["ssh", "bastion", "port"], ["devBox", "port"], ["ssh", "dialAttempts"],
                ["layout", "machine-sku", "gpu-machine", "cpu", "vcore"], ["layout", "machine-sku", "gpu-machine", "computing-device", "count"],
                ["virtualClusters", "vc1", "gpu-machine", "nodes"], ["virtualClusters", "vc1", "gpu-machine", "cells"]];
            for (const field of fields) {
                for (const value of [1e308, -1, NaN, Infinity, 2 ** 53, 1.5, "1", 1e7]) {
                    // A quota is a number or {nodes, cells, pinned}: text, NaN or Infinity in it is neither, reported at the quota.
                    const where = field[0] === "virtualClusters" && (typeof value === "string" || !Number.isFinite(value)) ? field.slice(0, -1) : field;
                    assertReported(refusal(withValue(goodStack(), field, value)), fieldPath(where), String(value));
                }
            }
        });
        it("a key named __proto__ is an unknown key, not the object's prototype", () => {
            const raw = parseStackYaml("config:\n  openpai:cluster: {__proto__: {checkOnly: true}}\n", "f");
            const err = refusal({ ...goodStack(), cluster: raw.cluster.value });
            assert.ok(err.issues.some(i => i.path === "cluster" && /unknown key '__proto__'/.test(i.message)));
        });
    });

    describe("the schema still takes unusual good values", () => {
        const good: [Segment[], unknown][] = [
            [["ssh", "bastion", "host"], "fd00::1"], [["ssh", "bastion", "host"], "Jump.Example.COM"], [["devBox", "host"], "10.0.0.2"],
            [["ssh", "user"], "first.last"], [["ssh", "bastion", "user"], "_svc-2"], [["devBox", "user"], "a".repeat(32)],
            [["cluster", "aptMirror"], "https://xn--mirror-9ua.example-1.com:65535/k8s/~x+y/%2F:v/"],
            [["cluster", "registryMirrors"], ["http://[fd00::1]:5000", "https://10.0.0.1/v2/cache"]],
            [["cluster", "aptProxy"], "https://[fd00::5]:3142/"], [["cluster", "registry", "username"], "ci-bot@example.com"],
            [["cluster", "registry", "domain"], "localhost"], [["cluster", "registry", "namespace"], "a__b.c-d/e"],
            [["cluster", "apiServerEndpoint"], "10.0.0.5"], [["cluster", "portalHost"], "10.0.0.5"],
            [["groups", 0, "description"], "Équipe « vision » — GPU 训练"],
        ];
        for (const [field, value] of good) {
            it(`${fieldPath(field)}: ${JSON.stringify(value)}`, () => {
                assert.doesNotThrow(() => parseStackConfig(rawStack(withValue(goodStack(), field, value), secrets)));
            });
        }
        it("a key fingerprint is kept in capitals, and is refused without its mirror", () => {
            const config = parseStackConfig(rawStack(withValue(goodStack(), ["cluster", "aptMirrorKeyFingerprint"], "8e3f675c92af4f0c7054db7af205980d23f0b2b2"), secrets));
            assert.strictEqual(config.cluster.aptMirrorKeyFingerprint, "8E3F675C92AF4F0C7054DB7AF205980D23F0B2B2");
            const stack = goodStack();
            delete stack.cluster.nvidiaRepositoryMirror;
            assert.ok(refusal(stack).issues.some(i => i.path === "cluster.nvidiaRepositoryMirrorKeyFingerprint" && /cluster.nvidiaRepositoryMirror is not/.test(i.message)));
            const short = refusal(withValue(goodStack(), ["cluster", "aptMirrorKeyFingerprint"], "8E3F 675C 92AF 4F0C 7054 DB7A F205 980D 23F0 B2B2"));
            assert.ok(short.issues.some(i => i.path === "cluster.aptMirrorKeyFingerprint" && /40 hex digits without spaces/.test(i.message)));
        });
        it("an aptProxy on IPv6 with a mirror on IPv6 is refused: apt cannot name that mirror to reach it directly", () => {
            const stack = withValue(withValue(goodStack(), ["cluster", "aptMirror"], "http://[fd00::9]/k8s"), ["cluster", "aptProxy"], "http://[fd00::5]:3142");
            assert.ok(refusal(stack).issues.some(i => i.path === "cluster.aptMirror" && /IPv6/.test(i.message)));
            delete stack.cluster.aptProxy;
            delete stack.cluster.aptProxyUser;
            assert.doesNotThrow(() => parseStackConfig(rawStack(stack, secrets.filter(s => s !== "aptProxyPassword"))));
        });
    });

    describe("limits: no value makes validation blow up", () => {
        it("memory past 1Pi (400 nines would be Infinity) and devices or cores past any machine", () => {
            const stack = goodStack();
            stack.layout["machine-sku"]["gpu-machine"].mem = "9".repeat(30);
            assertReported(refusal(stack), "layout.machine-sku.gpu-machine.mem", "30 nines");
            stack.layout["machine-sku"]["gpu-machine"].mem = "2Pi";
            assert.ok(refusal(stack).issues.some(i => i.path === "layout.machine-sku.gpu-machine.mem" && /at most 1Pi/.test(i.message)));
            const devices = goodStack();
            devices.layout["machine-sku"]["gpu-machine"]["computing-device"].count = 1e7;
            devices.layout["machine-sku"]["gpu-machine"].cpu.vcore = 1e8;
            const started = Date.now();
            const err = refusal(devices);
            assert.ok(Date.now() - started < 3000, "refused at once (unbounded, 1e7 GPUs kept validate busy for seconds)");
            assert.ok(err.issues.some(i => i.path === "layout.machine-sku.gpu-machine.computing-device.count" && /at most 256/.test(i.message)));
            assert.ok(err.issues.some(i => i.path === "layout.machine-sku.gpu-machine.cpu.vcore" && /at most 4096/.test(i.message)));
        });
        it("the largest layout allowed validates in seconds", () => {
            const big = layout(4999);
            big["machine-sku"]["gpu-machine"]["computing-device"].count = 256;
            big["machine-sku"]["gpu-machine"].cpu.vcore = 4096;
            const started = Date.now();
            parseStackConfig(rawStack({ layout: big }));
            assert.ok(Date.now() - started < 10_000);
            const tooMany = layout(5000);
            assert.ok(refusal({ layout: tooMany }).issues.some(i => i.path === "layout.machine-list" && /at most 5000/.test(i.message)));
        });
        it("YAML aliases that expand a small file into a huge value are refused before they expand", () => {
            const lines = ["config:", "  openpai:hived:", "    x0: &a0 ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', b, c, d, e, f, g, h, i, j]"];
            for (let i = 1; i <= 9; i++) {
                lines.push(`    x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]`);
            }
            const text = lines.join("\n");
            assert.ok(text.length < 1500);
            const started = Date.now();
            const err = refusal({ ...goodStack(), virtualClusters: undefined, hived: parseStackYaml(text, "f").hived.value });
            assert.ok(Date.now() - started < 3000, "without expanding 10^10 strings");
            assert.ok(err.issues.some(i => i.path === "hived" && /larger than 512 KiB once YAML anchors and aliases are expanded/.test(i.message)));
            const layoutBomb = parseStackYaml(text.replace("openpai:hived", "openpai:layout"), "f");
            assert.ok(refusal({ ...goodStack(), layout: layoutBomb.layout.value }).issues.some(i => i.path === "layout" && /larger than 1024 KiB/.test(i.message)));
        });
        it("a description past 1000 characters, and a group list past Kubernetes' 1 MiB ConfigMap limit", () => {
            const long = goodStack();
            long.groups[0].description = "x".repeat(1001);
            assert.ok(refusal(long).issues.some(i => i.path === "groups[0].description" && /at most 1000/.test(i.message)));
            const huge = goodStack();
            huge.groups[0].description = "x".repeat(30 * 2 ** 20);
            assertReported(refusal(huge), "groups", "30 MB description");
            const asJson = goodStack();
            asJson.groups = JSON.stringify(huge.groups);
            assertReported(refusal(asJson), "groups", "30 MB of JSON text (how Pulumi hands it to the program)");
        });
        it("nesting deeper than any section needs", () => {
            let deep: unknown = {};
            for (let i = 0; i < 200; i++) {
                deep = { a: deep };
            }
            assert.ok(refusal({ ...goodStack(), virtualClusters: undefined, hived: deep }).issues.some(i => i.path === "hived" && /deeper than 64/.test(i.message)));
        });
    });

    describe("openpai validate", () => {
        let tmp: string;
        before(() => {
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-hostile-"));
        });
        after(() => fs.rmSync(tmp, { recursive: true, force: true }));

        function stackFile(name: string, values: Record<string, unknown>): string {
            const file = path.join(tmp, `Pulumi.${name}.yaml`);
            const config: Record<string, unknown> = {};
            for (const [key, value] of Object.entries(values)) {
                if (value !== undefined) {
                    config[`openpai:${key}`] = value;
                }
            }
            for (const key of secrets) {
                config[`openpai:${key}`] = { secure: "v1:AAAA" };
            }
            fs.writeFileSync(file, yaml.dump({ config }, { lineWidth: -1 }));
            return file;
        }

        function assertRefused(r: { code: number; stdout: string; stderr: string }, paths: string[], what: string): void {
            assert.strictEqual(r.code, 1, `${what}: exit code ${r.code}\n${r.stderr.slice(0, 2000)}`);
            assert.strictEqual(r.stdout, "", `${what}: nothing on stdout`);
            assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: a stack trace`);
            assert.doesNotMatch(r.stderr, /unexpected failure/, `${what}: an unexpected failure`);
            assert.doesNotMatch(r.stderr, rawUnprintable, `${what}: raw control characters printed`);
            for (const p of paths) {
                assert.ok(r.stderr.includes(`  - ${printable(p)}: `), `${what}: stderr does not name ${printable(p)}:\n${r.stderr.slice(0, 3000)}`);
            }
        }

        for (const [name, attack] of Object.entries(attacks)) {
            it(`names every field holding ${name}, exit 1, no stack trace`, () => {
                const stack = goodStack();
                for (const field of nameFields) {
                    withValue(stack, field, attack);
                }
                // A name field already refused hides nothing: every one is reported at once.
                const r = openpai("validate", stackFile(name.replace(/\W/g, "-"), stack));
                assertRefused(r, nameFields.map(fieldPath), name);
            });
        }

        it("refuses an alias bomb, a 3 MB and a 30 MB description, 400 nines, 1e7 GPUs and a 17 MiB file quickly", () => {
            const started = Date.now();
            const bomb = ["config:", "  openpai:hived:", "    x0: &a0 ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', b, c, d, e, f, g, h, i, j]"];
            for (let i = 1; i <= 9; i++) {
                bomb.push(`    x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]`);
            }
            const bombFile = path.join(tmp, "Pulumi.bomb.yaml");
            fs.writeFileSync(bombFile, `${bomb.join("\n")}\n${yaml.dump({ config: { "openpai:layout": layout(2) } }).replace(/^config:\n/, "")}`);
            assertRefused(openpai("validate", bombFile), ["hived"], "alias bomb");
            assertRefused(openpai("hived", "generate", bombFile), ["hived"], "alias bomb, hived generate");
            const description = goodStack();
            description.groups[0].description = "x".repeat(3 * 2 ** 20);
            assertRefused(openpai("validate", stackFile("description", description)), ["groups"], "3 MB description");
            description.groups[0].description = "x".repeat(30 * 2 ** 20);
            assertRefused(openpai("validate", stackFile("description", description)), ["(root)"], "30 MB description: past the stack file's limit");
            const nines = goodStack();
            nines.layout["machine-sku"]["gpu-machine"].mem = "9".repeat(400);
            assertRefused(openpai("validate", stackFile("nines", nines)), ["layout.machine-sku.gpu-machine.mem"], "400 nines");
            const gpus = goodStack();
            gpus.layout["machine-sku"]["gpu-machine"]["computing-device"].count = 1e7;
            assertRefused(openpai("validate", stackFile("gpus", gpus)), ["layout.machine-sku.gpu-machine.computing-device.count"], "1e7 GPUs");
            const large = path.join(tmp, "Pulumi.large.yaml");
            fs.writeFileSync(large, `config:\n  openpai:adminUser: admin\n#${"x".repeat(17 * 2 ** 20)}\n`);
            assertRefused(openpai("validate", large), ["(root)"], "17 MiB file");
            assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
        });
    });
});
