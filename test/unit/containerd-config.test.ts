import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderSteps } from "../../components/hosts/scripts";
import { projectRoot, runScript } from "./helpers";

/** Real `containerd config dump` outputs and `config default` outputs (test/fixtures/containerd/README.md). */
const fixtures = path.join(projectRoot, "test", "fixtures", "containerd");
const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name), "utf8");
const pause = "registry.k8s.io/pause:3.10.1";

/** lib-containerd.sh's checker on a dump: its exit status and the problems it printed. */
function problems(dump: string, nvidia: 0 | 1, sandbox = pause): { status: number | null; lines: string[] } {
    const r = runScript(`${renderSteps([], false)}\ncontainerd_config_problems '${sandbox}' ${nvidia} <<'OPENPAI_DUMP_EOF'\n${dump}OPENPAI_DUMP_EOF\n`);
    return { status: r.status, lines: r.stdout.split("\n").filter(Boolean) };
}

/**
 * Stand-ins for what containerd_config_write runs: `containerd config default` prints a fixture
 * (or fails, or prints nothing), `containerd --config FILE config dump` prints a fixture (or
 * refuses), `nvidia-ctk` (when given) succeeds or fails, kubeadm names the pause image.
 */
function fakeCommands(fake: { defaultConfig?: string; defaultFails?: boolean; dump?: string; dumpFails?: boolean; nvidiaCtk?: "ok" | "fails" }): string {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-containerd-"));
    const write = (name: string, text: string) => fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${text}`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "default.toml"), fake.defaultConfig ?? "");
    fs.writeFileSync(path.join(bin, "dump.toml"), fake.dump ?? "");
    write("containerd", `case "$*" in
  "config default") ${fake.defaultFails ? 'echo "containerd: failed to load plugins: permission denied" >&2; exit 1' : `cat ${bin}/default.toml`} ;;
  "--config "*" config dump") ${fake.dumpFails ? `echo 'containerd: failed to load TOML from $2: toml: line 12: expected "=" after a key' >&2; exit 1` : `cat ${bin}/dump.toml`} ;;
  *) exit 2 ;;
esac
`);
    write("kubeadm", `echo registry.k8s.io/kube-apiserver:v1.34.3\necho ${pause}\n`);
    if (fake.nvidiaCtk) {
        write("nvidia-ctk", fake.nvidiaCtk === "ok" ? "exit 0\n" : 'echo "unable to flush config: permission denied" >&2\nexit 1\n');
    }
    return bin;
}

/** Runs containerd_config_write with the stand-ins (check-only: it writes nothing here). */
function configWrite(fake: Parameters<typeof fakeCommands>[0], checkOnly: boolean): { status: number | null; stdout: string; stderr: string } {
    const bin = fakeCommands(fake);
    try {
        const r = runScript(`${renderSteps([], checkOnly)}\nSTEP=containerd CHECK_ONLY=${checkOnly ? 1 : 0}\ncontainerd_config_write && echo "wrote" || echo "not written"\n`,
            { PATH: `${bin}:${process.env.PATH}`, K8S_VERSION: "v1.34.3" });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

describe("containerd's config checked by its own `config dump` (issue 23): both formats", () => {
    it("the project's rendered config passes as containerd 1.6 (version = 2) and 2.2 (version = 3) dump it", () => {
        for (const version of ["1.6", "2.2"]) {
            const dump = fixture(`dump-${version}-rendered.toml`);
            assert.match(dump, version === "1.6" ? /^version = 2$/m : /^version = 3$/m);
            assert.deepStrictEqual(problems(dump, 0), { status: 0, lines: [] }, `containerd ${version}`);
        }
    });

    it("with the NVIDIA toolkit: nvidia-ctk's config passes only with nvidia the default runtime", () => {
        for (const version of ["1.6", "2.2"]) {
            assert.deepStrictEqual(problems(fixture(`dump-${version}-nvidia.toml`), 1), { status: 0, lines: [] }, `containerd ${version} with nvidia`);
            const withoutNvidia = problems(fixture(`dump-${version}-rendered.toml`), 1);
            assert.strictEqual(withoutNvidia.status, 1);
            assert.deepStrictEqual(withoutNvidia.lines, [
                "the default runtime is 'runc', not nvidia (GPU jobs select GPUs with NVIDIA_VISIBLE_DEVICES)",
                "runtime nvidia runs '', not nvidia-container-runtime",
            ], `containerd ${version}`);
        }
    });

    it("containerd's defaults are refused, naming each setting the cluster needs", () => {
        const cgroups = "runtime runc does not use the systemd cgroup driver (SystemdCgroup = false, kubelet's driver is systemd)";
        const mirrors = "the CRI's registry config_path is '', not /etc/containerd/certs.d (the registry mirrors)";
        assert.deepStrictEqual(problems(fixture("dump-1.6-default.toml"), 0), {
            status: 1,
            lines: [cgroups, mirrors, `the pause image is 'registry.k8s.io/pause:3.6', not kubeadm's ${pause} (plugins.io.containerd.grpc.v1.cri.sandbox_image)`],
        });
        // containerd 2.2's default pause image is kubeadm's already.
        assert.deepStrictEqual(problems(fixture("dump-2.2-default.toml"), 0), { status: 1, lines: [cgroups, mirrors] });
        assert.deepStrictEqual(problems(fixture("dump-2.2-default.toml"), 0, "registry.k8s.io/pause:3.11").lines.slice(2),
            ["the pause image is 'registry.k8s.io/pause:3.10.1', not kubeadm's registry.k8s.io/pause:3.11 (plugins.io.containerd.cri.v1.images.pinned_images.sandbox)"]);
    });

    it("a broken config is refused: the one-line config the old step wrote when `config default` failed, and a dump of no known format", () => {
        const oneLine = problems(fixture("dump-2.2-one-line-config.toml"), 0);
        assert.strictEqual(oneLine.status, 1);
        assert.ok(oneLine.lines.some(l => /SystemdCgroup = false/.test(l)), oneLine.lines.join("\n"));
        assert.deepStrictEqual(problems("root = '/var/lib/containerd'\n", 0), { status: 1, lines: ["config version 'none': neither containerd 1.6/1.7's 2 nor 2.x's 3"] });
        assert.deepStrictEqual(problems("version = 3\n", 0).lines, [
            "no default runtime (plugins.io.containerd.cri.v1.runtime.containerd.default_runtime_name)",
            "runtime runc does not use the systemd cgroup driver (SystemdCgroup = unset, kubelet's driver is systemd)",
            "the CRI's registry config_path is '', not /etc/containerd/certs.d (the registry mirrors)",
            `the pause image is '', not kubeadm's ${pause} (plugins.io.containerd.cri.v1.images.pinned_images.sandbox)`,
        ]);
    });

    it("the step writes the config only when containerd's dump of it passes; any failure fails the step naming what was wrong", () => {
        const ok = { defaultConfig: fixture("default-2.2.toml"), dump: fixture("dump-2.2-rendered.toml") };
        const passed = configWrite(ok, true);
        assert.strictEqual(passed.status, 0, passed.stderr);
        assert.match(passed.stdout, /would write \/etc\/containerd\/config\.toml\nwrote/);

        const failures: [Parameters<typeof fakeCommands>[0], RegExp][] = [
            [{ ...ok, defaultFails: true }, /error: containerd config default failed: containerd: failed to load plugins: permission denied; check the containerd package/],
            [{ ...ok, defaultConfig: "" }, /error: containerd config default printed no config \(nothing on stderr\)/],
            [{ ...ok, nvidiaCtk: "fails" }, /error: nvidia-ctk runtime configure failed, so containerd would run GPU jobs without the NVIDIA runtime: unable to flush config: permission denied/],
            [{ ...ok, dumpFails: true }, /error: containerd refuses the config rendered for it: containerd: failed to load TOML from \S+: toml: line 12/],
            [{ ...ok, dump: fixture("dump-2.2-default.toml") }, /error: the rendered containerd config lacks what the cluster needs \(by containerd config dump\): runtime runc does not use the systemd cgroup driver .*; the CRI's registry config_path is ''/],
            // nvidia-ctk ran, yet containerd's dump shows runc as the default: the GPU runtime would be silently missing.
            [{ ...ok, nvidiaCtk: "ok" }, /error: the rendered containerd config lacks what the cluster needs \(by containerd config dump\): the default runtime is 'runc', not nvidia/],
        ];
        for (const [fake, message] of failures) {
            const r = configWrite(fake, false);
            assert.strictEqual(r.status, 1, `the step goes on after: ${message}\n${r.stdout}`);
            assert.match(r.stderr, message);
            assert.doesNotMatch(r.stdout, /wrote/);
        }
        // Check-only reports the failure and writes nothing.
        const reported = configWrite({ ...ok, dumpFails: true }, true);
        assert.strictEqual(reported.status, 0);
        assert.match(reported.stdout, /would fail: containerd refuses the config rendered for it[^\n]*\nnot written/);
    });

    it("nvidia-ctk with the dump showing nvidia as the default runtime: written", () => {
        const r = configWrite({ defaultConfig: fixture("default-1.6.toml"), dump: fixture("dump-1.6-nvidia.toml"), nvidiaCtk: "ok" }, true);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /would write \/etc\/containerd\/config\.toml\nwrote/);
    });
});
