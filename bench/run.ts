import { hostFigures, previewFigures } from "./engine";
import { Figure, hivedFigures } from "./hived";

/**
 * Prints every benchmark figure as one JSON line: {"name","value","unit"}.
 * `npm run bench` runs all; `npm run bench -- hived|preview|hosts` runs one group.
 */
const groups: Record<string, () => Figure[] | Promise<Figure[]>> = {
    hived: hivedFigures,
    preview: () => previewFigures([10, 100, 1000]),
    hosts: () => hostFigures([1, 5, 20]),
};
async function main(): Promise<void> {
    const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(groups);
    for (const name of wanted) {
        const group = groups[name];
        if (!group) {
            process.stderr.write(`unknown benchmark group '${name}': use ${Object.keys(groups).join(", ")}\n`);
            process.exit(2);
        }
        for (const figure of await group()) {
            process.stdout.write(`${JSON.stringify(figure)}\n`);
        }
    }
}

main().catch(err => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
});
