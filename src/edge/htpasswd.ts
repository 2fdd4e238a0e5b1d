// The password hashes of an htpasswd file, as nginx's auth_basic_user_file reads them:
// bcrypt ($2y$, `htpasswd -B`), Apache's MD5 ($apr1$, `htpasswd -m`, its default) and the
// MD5-crypt it derives from ($1$), SHA-crypt ($5$, $6$: `openssl passwd -5` / `-6`, glibc's
// crypt), SHA-1 ({SHA}, `htpasswd -s`), salted SHA-1 ({SSHA}) and {PLAIN}. DES crypt, which
// keeps 8 characters of a password, is refused when the file is read.
import bcrypt from "bcryptjs";
import { md5, sha1, sha256, sha512 } from "./digests.js";
import { concatBytes } from "../core/bytes.js";

const encoder = new TextEncoder();
const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Why a hash cannot be used, or null when it can. */
export function hashProblem(hash: string): string | null {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return null;
  if (/^\$(apr1|1)\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/.test(hash)) return null;
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash) || /^\{SSHA\}[A-Za-z0-9+/=]{28,}$/.test(hash) || hash.startsWith("{PLAIN}")) return null;
  if (/^\$[56]\$(rounds=\d{1,9}\$)?[^$]{0,16}\$[./0-9A-Za-z]+$/.test(hash)) {
    const len = hash.slice(hash.lastIndexOf("$") + 1).length;
    return len === (hash[1] === "5" ? 43 : 86) ? null : "a SHA-crypt hash of the wrong length";
  }
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return "DES crypt keeps only the first 8 characters of a password: write it again with htpasswd -B (bcrypt)";
  return "not a password hash htpasswd or openssl passwd writes (bcrypt $2y$, MD5 $apr1$ or $1$, SHA-crypt $5$ or $6$, {SHA}, {SSHA} or {PLAIN})";
}

/** Whether `password` (UTF-8 bytes) matches `hash`, which hashProblem accepted. */
export function passwordMatches(password: Uint8Array, hash: string): boolean {
  if (hash.startsWith("$2")) return bcrypt.compareSync(new TextDecoder().decode(password), hash);
  if (hash.startsWith("$apr1$") || hash.startsWith("$1$")) {
    const magic = hash.startsWith("$1$") ? "$1$" : "$apr1$";
    const salt = hash.slice(magic.length, hash.indexOf("$", magic.length));
    return same(md5Crypt(password, salt, magic), hash);
  }
  if (hash.startsWith("$5$") || hash.startsWith("$6$")) return same(shaCrypt(password, hash), hash);
  if (hash.startsWith("{SHA}")) return same(`{SHA}${base64(sha1(password))}`, hash);
  if (hash.startsWith("{SSHA}")) {
    const raw = fromBase64(hash.slice(6));
    const salt = raw.subarray(20);
    return same(base64(sha1(concatBytes([password, salt]))), base64(raw.subarray(0, 20)));
  }
  return same(new TextDecoder().decode(password), hash.slice("{PLAIN}".length));
}

/** MD5-crypt (FreeBSD's, which Apache's apr1 repeats with its own magic). */
export function md5Crypt(pw: Uint8Array, salt: string, magic: "$1$" | "$apr1$"): string {
  const s = encoder.encode(salt);
  const alt = md5(concatBytes([pw, s, pw]));
  const ctx: number[] = [...pw, ...encoder.encode(magic), ...s];
  for (let i = pw.length; i > 0; i -= 16) ctx.push(...alt.subarray(0, Math.min(16, i)));
  for (let i = pw.length; i > 0; i >>= 1) ctx.push(i & 1 ? 0 : pw[0]);
  let final = md5(Uint8Array.from(ctx));
  for (let i = 0; i < 1000; i++) {
    const parts: Uint8Array[] = [i & 1 ? pw : final];
    if (i % 3) parts.push(s);
    if (i % 7) parts.push(pw);
    parts.push(i & 1 ? final : pw);
    final = md5(concatBytes(parts));
  }
  const f = final;
  let out = "";
  const to64 = (v: number, n: number) => {
    for (; n > 0; n--, v >>= 6) out += ITOA64[v & 0x3f];
  };
  for (const [a, b, c] of [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]]) to64((f[a] << 16) | (f[b] << 8) | f[c], 4);
  to64(f[11], 2);
  return `${magic}${salt}$${out}`;
}

const base64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
export const fromBase64 = (s: string) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));

/** Compares without stopping at the first difference, so the time taken tells nothing of
 *  how much of a guess was right. */
function same(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/** SHA-crypt (Ulrich Drepper's, glibc's $5$ and $6$): `setting` is a hash or its
 *  "$6$[rounds=N$]salt" start; the whole hash comes back. */
export function shaCrypt(pw: Uint8Array, setting: string): string {
  const five = setting[1] === "5";
  const H = five ? sha256 : sha512;
  const m = /^\$[56]\$(?:rounds=(\d+)\$)?([^$]{0,16})/.exec(setting)!;
  const custom = m[1] !== undefined;
  const rounds = custom ? Math.min(999_999_999, Math.max(1000, Number(m[1]))) : 5000;
  const salt = encoder.encode(m[2]);
  const repeat = (block: Uint8Array, n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = block[i % block.length];
    return out;
  };
  const b = H(concatBytes([pw, salt, pw]));
  const a: Uint8Array[] = [pw, salt, repeat(b, pw.length)];
  for (let i = pw.length; i > 0; i >>= 1) a.push(i & 1 ? b : pw);
  let acc = H(concatBytes(a));
  const parts: Uint8Array[] = [];
  for (let i = 0; i < pw.length; i++) parts.push(pw);
  const p = repeat(H(concatBytes(parts)), pw.length);
  const sparts: Uint8Array[] = [];
  for (let i = 0; i < 16 + acc[0]; i++) sparts.push(salt);
  const s = repeat(H(concatBytes(sparts)), salt.length);
  for (let r = 0; r < rounds; r++) {
    const c: Uint8Array[] = [r & 1 ? p : acc];
    if (r % 3) c.push(s);
    if (r % 7) c.push(p);
    c.push(r & 1 ? acc : p);
    acc = H(concatBytes(c));
  }
  let out = "";
  const to64 = (v: number, n: number) => {
    for (; n > 0; n--, v >>= 6) out += ITOA64[v & 0x3f];
  };
  // The spec's order: each group of three bytes taken from across the digest.
  if (five) {
    for (let i = 0; i < 10; i++) {
      const [x, y, z] = [(i * 21) % 30, (i * 21 + 10) % 30, (i * 21 + 20) % 30];
      to64((acc[x] << 16) | (acc[y] << 8) | acc[z], 4);
    }
    to64((acc[31] << 8) | acc[30], 3);
  } else {
    for (let i = 0; i < 21; i++) {
      const [x, y, z] = [(i * 22) % 63, (i * 22 + 21) % 63, (i * 22 + 42) % 63];
      to64((acc[x] << 16) | (acc[y] << 8) | acc[z], 4);
    }
    to64(acc[63], 2);
  }
  return `$${five ? 5 : 6}$${custom ? `rounds=${rounds}$` : ""}${m[2]}$${out}`;
}
