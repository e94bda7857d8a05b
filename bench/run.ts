import { hivedFigures } from "./hived";

/** Prints every benchmark figure as one JSON line: {"name","value","unit"}. */
for (const figure of hivedFigures()) {
    process.stdout.write(`${JSON.stringify(figure)}\n`);
}
