/** Where a CLI command writes: stdout and stderr, or a test's buffers. */
export interface Io {
    out: (text: string) => void;
    err: (text: string) => void;
}

/** Raised for a wrong command line; printed with the usage. */
export class UsageError extends Error {}

/** The one file a command takes. */
export function single(args: string[], command: string): string {
    if (args.length !== 1 || args[0].startsWith("-")) {
        throw new UsageError(`${command} takes exactly one file`);
    }
    return args[0];
}

/** Parses `--flag value` pairs (`repeated` ones may come again: all their values are kept) and boolean flags; everything else is positional. */
export function parseFlags(args: string[], valued: string[], booleans: string[], repeated: string[] = []): {
    flags: Record<string, string | true>; lists: Record<string, string[]>; positional: string[];
} {
    const flags: Record<string, string | true> = {};
    const lists: Record<string, string[]> = {};
    const positional: string[] = [];
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (valued.includes(arg) || repeated.includes(arg)) {
            if (i + 1 >= args.length) {
                throw new UsageError(`${arg} needs a value`);
            }
            const value = args[++i];
            if (repeated.includes(arg)) {
                (lists[arg] ??= []).push(value);
            } else {
                flags[arg] = value;
            }
        } else if (booleans.includes(arg)) {
            flags[arg] = true;
        } else if (arg.startsWith("--")) {
            throw new UsageError(`unknown option ${arg}`);
        } else {
            positional.push(arg);
        }
    }
    return { flags, lists, positional };
}
