// The password hashes of an htpasswd file, as nginx's auth_basic_user_file reads them:
// bcrypt ($2y$, `htpasswd -B`), Apache's MD5 ($apr1$, `htpasswd -m`, its default) and the
// MD5-crypt it derives from ($1$), SHA-1 ({SHA}, `htpasswd -s`), salted SHA-1 ({SSHA}) and
// {PLAIN}. Formats that cannot be checked safely here are refused when the file is read.
import bcrypt from "bcryptjs";
import { md5, sha1 } from "./digests.js";
import { concatBytes } from "../core/bytes.js";

const encoder = new TextEncoder();
const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Why a hash cannot be used, or null when it can. */
export function hashProblem(hash: string): string | null {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return null;
  if (/^\$(apr1|1)\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/.test(hash)) return null;
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash) || /^\{SSHA\}[A-Za-z0-9+/=]{28,}$/.test(hash) || hash.startsWith("{PLAIN}")) return null;
  if (/^\$[56]\$/.test(hash)) return "SHA-crypt ($5$, $6$) is not read here: write the password again with htpasswd -B (bcrypt)";
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return "DES crypt keeps only the first 8 characters of a password: write it again with htpasswd -B (bcrypt)";
  return "not a password hash htpasswd writes (bcrypt $2y$, MD5 $apr1$, {SHA}, {SSHA} or {PLAIN})";
}

/** Whether `password` (UTF-8 bytes) matches `hash`, which hashProblem accepted. */
export function passwordMatches(password: Uint8Array, hash: string): boolean {
  if (hash.startsWith("$2")) return bcrypt.compareSync(new TextDecoder().decode(password), hash);
  if (hash.startsWith("$apr1$") || hash.startsWith("$1$")) {
    const magic = hash.startsWith("$1$") ? "$1$" : "$apr1$";
    const salt = hash.slice(magic.length, hash.indexOf("$", magic.length));
    return same(md5Crypt(password, salt, magic), hash);
  }
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
const fromBase64 = (s: string) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));

/** Compares without stopping at the first difference, so the time taken tells nothing of
 *  how much of a guess was right. */
function same(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}
