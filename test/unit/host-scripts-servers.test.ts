import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStep, renderSteps } from "../../components/hosts/scripts";
import { runScript } from "./helpers";

/** A sysfs PCI tree: one directory per function with its vendor and class, as /sys/bus/pci/devices has them. */
function pciTree(functions: { vendor: string; class: string }[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-pci-"));
    functions.forEach((f, i) => {
        const device = path.join(dir, `0000:${String(i + 1).padStart(2, "0")}:00.0`);
        fs.mkdirSync(device);
        fs.writeFileSync(path.join(device, "vendor"), `${f.vendor}\n`);
        fs.writeFileSync(path.join(device, "class"), `${f.class}\n`);
    });
    return dir;
}

const gpu = { vendor: "0x10de", class: "0x030200" };
const gpuAudio = { vendor: "0x10de", class: "0x040300" };
const nvSwitch = { vendor: "0x10de", class: "0x068000" };
const otherVga = { vendor: "0x1a03", class: "0x030000" };

describe("host scripts on real servers (issue 23's smaller parts)", () => {
    it("a command of a step that reads its input cannot swallow the steps after it (the script arrives on stdin)", () => {
        const preflight = { EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: 1, SKU_VCORE: 1, GPU_COUNT: 0, ROLE: "worker", REGISTRY_MIRRORS: "" };
        // The kernel step begins with a command that reads everything on its stdin, as a prompting package would.
        const text = renderSteps([{ step: "kernel" }, { step: "preflight", settings: preflight }], true)
            .replace("# ---- step: kernel ----\n(\n", "# ---- step: kernel ----\n(\ncat >/dev/null\n");
        const r = runScript(text);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /\[kernel\] kernel prerequisites in place[\s\S]*\[preflight\]/);
        // The same text without the block around the steps: the reader eats the preflight step.
        const unguarded = runScript(text.replace("\n{\n", "\n").replace("\n} </dev/null", ""));
        assert.doesNotMatch(unguarded.stdout, /\[preflight\]/, "the test's reader does swallow what follows without the block");
    });

    it("count GPUs from sysfs (no lspci on minimal images): NVIDIA display and 3D controllers only", () => {
        const tree = pciTree([gpu, gpuAudio, { ...gpu, class: "0x030000" }, nvSwitch, otherVga]);
        try {
            const settings = { EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: 1, SKU_VCORE: 1, ROLE: "worker", REGISTRY_MIRRORS: "", PCI_DEVICES: tree };
            const two = runScript(renderStep("preflight", true, { ...settings, GPU_COUNT: 2 }));
            assert.strictEqual(JSON.parse(two.stdout.trim().split("\n").pop()!).gpusPci, 2, "the two GPUs, not their audio function, the NVSwitch or another vendor's VGA");
            assert.doesNotMatch(two.stdout, /the PCI bus shows/);
            const eight = runScript(renderStep("preflight", true, { ...settings, GPU_COUNT: 8 }));
            assert.match(eight.stdout, /would fail: the PCI bus shows 2 NVIDIA GPUs, nvidia-smi \d+; the layout says 8/);
        } finally {
            fs.rmSync(tree, { recursive: true, force: true });
        }
    });


    it("repair what an interrupted dpkg left before any package step (dpkg --configure -a)", () => {
        // Stand-ins for dpkg: `--audit` lists a half-configured package; `--configure -a` records it ran.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-dpkg-"));
        try {
            fs.writeFileSync(path.join(bin, "dpkg"), `#!/usr/bin/env bash
case "$*" in
  --audit) [[ -e ${bin}/repaired ]] || echo "The following packages are only half configured: containerd" ;;
  "--configure -a") touch ${bin}/repaired ;;
esac
`, { mode: 0o755 });
            const helpers = renderSteps([], false);
            const script = `${helpers}\ndpkg_repair\ndpkg_repair\n`;
            const r = runScript(script, { PATH: `${bin}:${process.env.PATH}` });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout.match(/changed: dpkg --configure -a finished the interrupted packages/g)?.length, 1, r.stdout);
            assert.ok(fs.existsSync(path.join(bin, "repaired")));
            assert.match(renderStep("containerd", false, {}), /apt_update\(\) \{\n {2}\(\(apt_updated == 0\)\) \|\| return 0\n {2}dpkg_repair\n/, "apt_update repairs first");
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });
});
