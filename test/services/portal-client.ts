import * as http from "http";
import * as https from "https";
import * as tls from "tls";

/** A response as the tests read it. */
export interface PortalResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    text: string;
    /** The certificate the server presented (HTTPS only). */
    peerCertificate?: tls.PeerCertificate;
}

export interface PortalRequest {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** The CA to trust (PEM); without it only the system's CAs are trusted. */
    ca?: string;
    /** The local address to send from (a second client on the lab bridge). */
    localAddress?: string;
    timeoutMs?: number;
}

/**
 * One HTTP(S) request with the portal's CA pinned (Node's fetch cannot be given a CA): what a
 * browser or curl that trusts the portal's certificate gets. Redirects are not followed.
 */
export function portalRequest(url: string, options: PortalRequest = {}): Promise<PortalResponse> {
    const target = new URL(url);
    const client = target.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = client.request(target, {
            method: options.method ?? "GET", headers: options.headers, ca: options.ca, localAddress: options.localAddress,
            timeout: options.timeoutMs ?? 30000,
            // A connection of its own, as a new client's: no socket kept from before pylon rolled
            // (reset) or its certificate changed (a reused TLS session shows the old one).
            agent: false,
        }, res => {
            // Read now: the socket leaves the response once its body is read.
            const peerCertificate = res.socket instanceof tls.TLSSocket ? res.socket.getPeerCertificate() : undefined;
            const chunks: Buffer[] = [];
            res.on("data", chunk => chunks.push(chunk));
            res.on("end", () => resolve({
                status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8"), peerCertificate,
            }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`${options.method ?? "GET"} ${url}: no answer in ${options.timeoutMs ?? 30000} ms`)));
        req.on("error", reject);
        req.end(options.body);
    });
}
