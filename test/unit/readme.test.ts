import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { clusterSchema, layoutSchema, secretKeys, servicesSchema, sshSchema } from "../../config";

const readme = fs.readFileSync(path.join(__dirname, "..", "..", "..", "README.md"), "utf8");
const reference = readme.slice(readme.indexOf("## Config reference"), readme.indexOf("### HiveD config"));

describe("README config reference", () => {
    const sections: Record<string, string[]> = {
        "openpai:cluster": Object.keys(clusterSchema.shape),
        "openpai:ssh": Object.keys(sshSchema.shape),
        "openpai:services": Object.keys(servicesSchema.shape),
        "openpai:layout": Object.keys(layoutSchema.shape),
    };
    for (const [section, fields] of Object.entries(sections)) {
        it(`documents every field of ${section}`, () => {
            assert.ok(reference.includes(`\`${section}\``), `${section} is missing`);
            for (const field of fields) {
                assert.ok(reference.includes(`\`${field}\``), `${section}.${field} is not documented`);
            }
        });
    }
    it("documents every secret and top-level key", () => {
        for (const key of [...secretKeys, "virtualClusters", "hived", "adminUser"]) {
            assert.ok(reference.includes(`\`openpai:${key}\``), `openpai:${key} is not documented`);
        }
    });
});
