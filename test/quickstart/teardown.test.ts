import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../engine/harness";
import { shell } from "../services/pai-lab";

/** Lines of a command's output that match `pattern` (none when the command is missing or fails). */
function matching(command: string[], pattern: RegExp): string[] {
    const r = spawnSync(command[0], command.slice(1), { encoding: "utf8" });
    return (r.stdout ?? "").split("\n").filter(line => pattern.test(line));
}

/**
 * The quick start's last printed command, `npm run quickstart -- --down`, leaves nothing of the
 * lab: no process, mount, bridge or firewall table, and none of the quick start's files.
 */
describe("npm run quickstart -- --down", function () {
    this.timeout(10 * 60 * 1000);

    it("removes the lab, its hosts, kwok, the stack and its state", () => {
        const r = shell("npm run quickstart -- --down");
        assert.strictEqual(r.code, 0, r.out.slice(-4000));
        process.stdout.write(`quickstart --down: ${Math.round(r.ms / 1000)} s\n`);
        const leftovers = [
            ...matching(["ps", "-eo", "pid,args"], /systemd-nspawn|kwok|docker-registry|apt-cacher-ng|dnsmasq.*opailab|openpai-lab/),
            ...matching(["findmnt", "-rn", "-o", "TARGET"], /openpai-lab/),
            ...matching(["ip", "-o", "link", "show"], /opailab/),
            ...matching(["nft", "list", "tables"], /openpai/),
        ];
        assert.deepStrictEqual(leftovers, [], "left behind");
        for (const file of [".pulumi-quickstart", "Pulumi.quickstart.yaml"]) {
            assert.ok(!fs.existsSync(path.join(projectRoot, file)), `${file} is still there`);
        }
    });
});
