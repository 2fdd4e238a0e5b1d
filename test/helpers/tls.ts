// A throwaway self-signed certificate for 127.0.0.1, made by openssl, for TLS tests.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import type tls from "node:tls";

/** A fresh self-signed certificate for 127.0.0.1 (Node checks the IP against subjectAltName)
 *  and the DNS `names` given. */
export function selfSigned(cn: string, names: string[] = []): { cert: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "edgepass-cert-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-addext", `subjectAltName=${["IP:127.0.0.1", ...names.map((n) => `DNS:${n}`)].join(",")}`, "-days", "1", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "pipe" });
    return { cert: readFileSync(path.join(dir, "cert.pem"), "utf8"), key: readFileSync(path.join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  fingerprint: string;
}

/** GET over HTTPS trusting only `ca`, on a new connection; the body as received (not decoded). */
export function httpsGet(base: string, ca: string, pathname: string, headers: Record<string, string> = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${base}${pathname}`, { ca, agent: false, headers }, (res) => {
      const fingerprint = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), fingerprint }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}
