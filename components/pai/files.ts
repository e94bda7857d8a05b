import * as fs from "fs";
import * as path from "path";

/**
 * The programs the PAI manifests mount into upstream images (components/pai/files/): scripts run
 * by the images' own interpreters, so a real cluster pulls nothing but OpenPAI's images. They live
 * beside the sources; compiled code (dist/) finds them from the project root.
 */
function filesDir(): string {
    const candidates = [path.join(__dirname, "files"), path.join(__dirname, "..", "..", "..", "components", "pai", "files")];
    const found = candidates.find(dir => fs.existsSync(path.join(dir, "docker-on-containerd.py")));
    if (!found) {
        throw new Error(`PAI service files not found (looked in ${candidates.join(", ")})`);
    }
    return found;
}

const cache = new Map<string, string>();

/** The text of one file of components/pai/files/. */
export function paiFile(name: string): string {
    let text = cache.get(name);
    if (text === undefined) {
        text = fs.readFileSync(path.join(filesDir(), name), "utf8");
        cache.set(name, text);
    }
    return text;
}
