// A throwaway self-signed certificate for 127.0.0.1, made by openssl, for TLS tests.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

export interface TestCa {
  /** The CA's certificate (PEM): what [serve] client_ca names. */
  cert: string;
  /** A client certificate and its key, issued for `subject` ("/CN=alice/O=Example"); an
   *  expired one with `expired`. */
  issue(subject: string, opts?: { expired?: boolean }): { cert: string; key: string };
  /** Revokes a certificate it issued; the revocation list (PEM) of all revoked so far. */
  revoke(cert: string): string;
  /** Removes the CA's working files. */
  close(): void;
}

/** A throwaway certificate authority run by `openssl ca`, for client certificates. */
export function testCa(name = "Test CA"): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), "edgepass-ca-"));
  const file = (n: string) => path.join(dir, n);
  const cnf = file("ca.cnf");
  writeFileSync(
    cnf,
    [
      "[ca]",
      "default_ca = test",
      "[test]",
      `database = ${file("index.txt")}`,
      `new_certs_dir = ${dir}`,
      `serial = ${file("serial")}`,
      `crlnumber = ${file("crlnumber")}`,
      `certificate = ${file("ca.pem")}`,
      `private_key = ${file("ca.key")}`,
      "default_md = sha256",
      "default_days = 1",
      "default_crl_days = 1",
      "policy = any",
      "unique_subject = no",
      // A subject keeps these, in this order.
      "[any]",
      "countryName = optional",
      "organizationName = optional",
      "organizationalUnitName = optional",
      "commonName = supplied",
      "[client]",
      "basicConstraints = CA:FALSE",
      "keyUsage = digitalSignature",
      "extendedKeyUsage = clientAuth",
      "",
    ].join("\n"),
  );
  writeFileSync(file("index.txt"), "");
  writeFileSync(file("serial"), "1000\n");
  writeFileSync(file("crlnumber"), "01\n");
  const ssl = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  ssl(["req", "-x509", ...ecKey, "-subj", `/CN=${name}`, "-days", "1", "-keyout", file("ca.key"), "-out", file("ca.pem")]);
  let n = 0;
  return {
    cert: readFileSync(file("ca.pem"), "utf8"),
    issue(subject, opts = {}) {
      const id = `client${++n}`;
      ssl(["req", "-new", ...ecKey, "-utf8", "-subj", subject, "-keyout", file(`${id}.key`), "-out", file(`${id}.csr`)]);
      const dates = opts.expired ? ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"] : [];
      ssl(["ca", "-batch", "-notext", "-config", cnf, "-utf8", "-extensions", "client", ...dates, "-in", file(`${id}.csr`), "-out", file(`${id}.pem`)]);
      return { cert: readFileSync(file(`${id}.pem`), "utf8"), key: readFileSync(file(`${id}.key`), "utf8") };
    },
    revoke(cert) {
      writeFileSync(file("revoke.pem"), cert);
      ssl(["ca", "-config", cnf, "-revoke", file("revoke.pem")]);
      ssl(["ca", "-config", cnf, "-gencrl", "-out", file("crl.pem")]);
      return readFileSync(file("crl.pem"), "utf8");
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
