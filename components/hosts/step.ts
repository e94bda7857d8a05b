import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "./commands";
import { asRoot, Helpers, renderSteps, StepName, StepPart, StepSettings } from "./scripts";

/** The SSH credentials of the stack (secrets): a key, a password, or both. */
export interface SshCredentials {
    privateKey?: pulumi.Input<string>;
    password?: pulumi.Input<string>;
}

/** A host's address and the key it must show: nothing is sent to a host showing another. */
export interface KnownHost {
    host: string;
    port: number;
    /**
     * Its SSH host key as an authorized_keys line, `<type> <base64> <note>`: the note says which
     * host it is and what to do if its key changed (host-key.ts), and is printed when it did.
     */
    hostKey: pulumi.Input<string>;
}

/** The jump host that cluster hosts are reached through (openpai:ssh.bastion). */
export interface BastionConnection extends KnownHost, SshCredentials {
    user: string;
}

/** How to reach a host over SSH (all of it is stored as a secret). */
export interface HostConnection extends KnownHost, SshCredentials {
    /** Connection attempts before the step fails. */
    dialAttempts: number;
    user: string;
    proxy?: BastionConnection;
}

/** Settings for a step script; Outputs (a kubeconfig) make its stdin secret. */
export type StepInputs = pulumi.Input<Record<string, pulumi.Input<string | number | boolean>>>;

/** A step script and its settings, as the program knows them (settings may be Outputs). */
export interface StepInputPart {
    step: StepName;
    settings?: StepInputs;
}

export interface HostStepArgs {
    connection: HostConnection;
    /** The step scripts this resource runs, in order. */
    steps: StepInputPart[];
    /** How its script gets the shared helpers (scripts.ts). */
    helpers: Helpers;
    checkOnly: boolean;
    /** Whether stdout carries a credential (the kubeconfig): kept secret and out of the logs. */
    secretStdout?: boolean;
    /** Run as the SSH user instead of root (the dev box's kubeconfig goes to that user's home). */
    asUser?: boolean;
}

/**
 * Renders step scripts with their settings: a plain string when every setting is known (most
 * resources of a large cluster: no Output to track per resource), else an Output (secret when a
 * setting is).
 */
function renderedSteps(parts: StepInputPart[], checkOnly: boolean, helpers: Helpers): pulumi.Input<string> {
    const plain = (value: unknown) => typeof value === "string" || typeof value === "number" || typeof value === "boolean";
    if (parts.every(part => part.settings === undefined || (typeof part.settings === "object" && !pulumi.Output.isInstance(part.settings)
        && !(part.settings instanceof Promise) && Object.values(part.settings).every(plain)))) {
        return renderSteps(parts as StepPart[], checkOnly, helpers);
    }
    return pulumi.output(parts.map(part => pulumi.output(part.settings ?? {}).apply(settings => ({ step: part.step, settings: settings as StepSettings }))))
        .apply(resolved => renderSteps(resolved, checkOnly, helpers));
}

/**
 * One provisioning resource on one host: a remote command whose stdin is its rendered step
 * scripts, run as root through sudo. Dials are retried with pauses (hosts may be booting); a host,
 * or bastion, showing another SSH host key than its known one is refused before anything is sent.
 */
export function hostStep(name: string, args: HostStepArgs, opts: pulumi.CustomResourceOptions): RemoteCommand {
    const runner = args.asUser ? "bash -s" : asRoot(args.connection.user);
    return new RemoteCommand(name, {
        connection: {
            host: args.connection.host, port: args.connection.port, user: args.connection.user, hostKey: args.connection.hostKey,
            privateKey: args.connection.privateKey, password: args.connection.password, proxy: args.connection.proxy,
            dialErrorLimit: args.connection.dialAttempts, perDialTimeout: 10,
        },
        create: runner,
        stdin: renderedSteps(args.steps, args.checkOnly, args.helpers),
        logging: args.secretStdout ? "none" : "stdoutAndStderr",
    }, {
        ...opts,
        additionalSecretOutputs: args.secretStdout ? ["stdout"] : [],
    });
}
