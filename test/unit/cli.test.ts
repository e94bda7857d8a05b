import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..", "..", "..");
const fixtures = path.join(root, "test", "fixtures", "openpai");

/** Runs the installed `openpai` command the way a user does. */
function openpai(...args: string[]): { code: number; stdout: string; stderr: string; ms: number } {
    const started = Date.now();
    const r = spawnSync(process.execPath, [path.join(root, "bin", "openpai.js"), ...args], { encoding: "utf8", cwd: root });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

function noStackTrace(text: string): void {
    assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, `stack trace printed:\n${text}`);
}

describe("openpai CLI", () => {
    let tmp: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-cli-"));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("validates the dev stack and prints the VC capacity", () => {
        const r = openpai("validate", "Pulumi.dev.yaml");
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /Pulumi.dev.yaml: valid \(kubeadm mode, 3 machines\)/);
        assert.match(r.stdout, /default\s+8\s+56\s+8 x gpu-machine/);
        assert.match(r.stdout, /vc1\s+8\s+56/);
    });

    it("import -> validate round trip on OpenPAI's layout and config files", () => {
        const imported = openpai("import", "--layout", path.join(fixtures, "layout-gpu.yaml"), "--config", path.join(fixtures, "config.yaml"));
        assert.strictEqual(imported.code, 0, imported.stderr);
        assert.match(imported.stderr, /note: .*pulumi config set --secret/);
        const stackFile = path.join(tmp, "Pulumi.imported.yaml");
        fs.writeFileSync(stackFile, imported.stdout);
        const validated = openpai("validate", stackFile);
        assert.strictEqual(validated.code, 0, validated.stderr);
        assert.match(validated.stderr, /secret\(s\) still to set/);
        const generated = openpai("hived", "generate", stackFile);
        assert.strictEqual(generated.code, 0, generated.stderr);
        const hivedFile = path.join(tmp, "hived.yaml");
        fs.writeFileSync(hivedFile, generated.stdout);
        const checked = openpai("hived", "validate", "--strict", "--stack", stackFile, hivedFile);
        assert.strictEqual(checked.code, 0, checked.stderr);
    });

    it("refuses a bad layout on import naming the field, without a stack trace", () => {
        const r = openpai("import", "--layout", path.join(fixtures, "layout-bad.yaml"));
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /layout-bad.yaml: machine-list\[1\].hostname: hostname must be lowercase/);
        assert.strictEqual(r.stdout, "");
        noStackTrace(r.stderr);
    });

    it("hived validate: accepts OpenPAI's shape, rejects HiveD crashes with exit 1", () => {
        const ok = openpai("hived", "validate", path.join(fixtures, "hived-openpai.yaml"));
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /vc1\s+4/);
        const bad = openpai("hived", "validate", path.join(fixtures, "hived-crash.yaml"));
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /cycle A -> B -> A/);
        assert.match(bad.stderr, /already used by VC vc1/);
        assert.match(bad.stderr, /no VC references chain 'GPU-NODE'/);
        assert.match(bad.stderr, /HiveD would fail to start/);
        noStackTrace(bad.stderr);
    });

    it("hived validate --strict turns warnings into errors", () => {
        const file = path.join(tmp, "warn.yaml");
        fs.writeFileSync(file, `${fs.readFileSync(path.join(fixtures, "hived-openpai.yaml"), "utf8")}kubeApiServerAdress: https://10.0.0.1:6443\n`);
        const lenient = openpai("hived", "validate", file);
        assert.strictEqual(lenient.code, 0, lenient.stderr);
        assert.match(lenient.stderr, /warning: kubeApiServerAdress: unknown key/);
        assert.match(lenient.stdout, /valid with 1 warning/);
        const strict = openpai("hived", "validate", "--strict", file);
        assert.strictEqual(strict.code, 1);
        assert.match(strict.stderr, /error: kubeApiServerAdress: unknown key/);
        assert.match(strict.stderr, /HiveD would start, but not as intended/);
    });

    it("answers bad input with a message, never a stack trace", () => {
        const cases: string[][] = [
            [], ["frobnicate"], ["validate"], ["validate", "/nonexistent.yaml"], ["hived", "validate", "/nonexistent.yaml"],
            ["hived", "validate", path.join(fixtures, "master.csv")], ["import"], ["import", "--master", "x"], ["validate", path.join(fixtures, "config.yaml")],
        ];
        for (const args of cases) {
            const r = openpai(...args);
            assert.strictEqual(r.code, 1, `openpai ${args.join(" ")} should fail`);
            assert.ok(r.stderr.length > 0);
            noStackTrace(r.stderr);
        }
    });

    it("answers in well under a second", () => {
        const times = [0, 1, 2].map(() => openpai("hived", "validate", path.join(fixtures, "hived-openpai.yaml")).ms);
        assert.ok(Math.min(...times) < 1000, `took ${times.join(", ")} ms`);
    });
});
