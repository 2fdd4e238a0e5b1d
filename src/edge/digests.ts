// MD5 (RFC 1321) and SHA-1 (FIPS 180-4), synchronous and free of any runtime: the password
// hashes of an htpasswd file ($apr1$, {SHA}) need them on every host, and WebCrypto's digest
// is asynchronous (apr1 alone digests a thousand times). Neither protects anything by itself
// here; they are the formats the files were written in.

const MD5_SHIFT = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
/** RFC 1321's table: the integer part of 2^32 × |sin(i + 1)|. */
const MD5_K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

/** The message padded to a multiple of `block` bytes (64, or SHA-512's 128) and ended with its
 *  bit length, little-endian (MD5) or big-endian (the SHAs, whose 128-bit length field holds
 *  it in its last 8 bytes). */
function padded(data: Uint8Array, block: 64 | 128, littleEndian: boolean): DataView {
  const len = Math.ceil((data.length + 1 + block / 8) / block) * block;
  const buf = new Uint8Array(len);
  buf.set(data);
  buf[data.length] = 0x80;
  const view = new DataView(buf.buffer);
  const bits = data.length * 8;
  const [hi, lo] = [Math.floor(bits / 2 ** 32), bits >>> 0];
  if (littleEndian) {
    view.setUint32(len - 8, lo, true);
    view.setUint32(len - 4, hi, true);
  } else {
    view.setUint32(len - 8, hi);
    view.setUint32(len - 4, lo);
  }
  return view;
}

export function md5(data: Uint8Array): Uint8Array {
  const view = padded(data, 64, true);
  let [a0, b0, c0, d0] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const m = new Array<number>(16);
  for (let off = 0; off < view.byteLength; off += 64) {
    for (let i = 0; i < 16; i++) m[i] = view.getUint32(off + i * 4, true);
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    // Plain variables and no array per round: apr1 runs this a thousand times a password.
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const s = MD5_SHIFT[((i >> 4) << 2) | (i & 3)];
      const x = (a + f + MD5_K[i] + m[g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    [a0, b0, c0, d0] = [(a0 + a) | 0, (b0 + b) | 0, (c0 + c) | 0, (d0 + d) | 0];
  }
  const out = new DataView(new ArrayBuffer(16));
  [a0, b0, c0, d0].forEach((w, i) => out.setUint32(i * 4, w, true));
  return new Uint8Array(out.buffer);
}

export function sha1(data: Uint8Array): Uint8Array {
  const view = padded(data, 64, false);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Array<number>(80);
  for (let off = 0; off < view.byteLength; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h[0];
    let b = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    for (let i = 0; i < 80; i++) {
      const f = i < 20 ? (b & c) | (~b & d) : i < 40 || i >= 60 ? b ^ c ^ d : (b & c) | (b & d) | (c & d);
      const k = i < 20 ? 0x5a827999 : i < 40 ? 0x6ed9eba1 : i < 60 ? 0x8f1bbcdc : 0xca62c1d6;
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    [h[0], h[1], h[2], h[3], h[4]] = [(h[0] + a) | 0, (h[1] + b) | 0, (h[2] + c) | 0, (h[3] + d) | 0, (h[4] + e) | 0];
  }
  const out = new DataView(new ArrayBuffer(20));
  h.forEach((x, i) => out.setUint32(i * 4, x));
  return new Uint8Array(out.buffer);
}

// SHA-256 and SHA-512 (FIPS 180-4), for SHA-crypt ($5$, $6$). Their constants are the
// fractional parts of the square and cube roots of the first primes, computed here once with
// integer roots rather than copied in as tables.

const PRIMES = (() => {
  const out: number[] = [];
  for (let n = 2; out.length < 80; n++) if (out.every((p) => n % p !== 0)) out.push(n);
  return out;
})();

/** floor(x^(1/k)) for a BigInt x (Newton's method on integers). */
function iroot(x: bigint, k: bigint): bigint {
  let r = 1n << (BigInt(x.toString(2).length) / k + 1n);
  for (;;) {
    const next = ((k - 1n) * r + x / r ** (k - 1n)) / k;
    if (next >= r) return r;
    r = next;
  }
}

/** The first `bits` bits of the fractional part of the k-th root of `p`. */
const rootBits = (p: number, k: bigint, bits: bigint) => iroot(BigInt(p) << (bits * k), k) & ((1n << bits) - 1n);

const SHA256_K = PRIMES.slice(0, 64).map((p) => Number(rootBits(p, 3n, 32n)));
const SHA256_H = PRIMES.slice(0, 8).map((p) => Number(rootBits(p, 2n, 32n)));
// SHA-512's 64-bit words as high and low 32-bit halves.
const SHA512_K = PRIMES.map((p) => rootBits(p, 3n, 64n)).flatMap((v) => [Number(v >> 32n), Number(v & 0xffffffffn)]);
const SHA512_H = PRIMES.slice(0, 8).map((p) => rootBits(p, 2n, 64n)).flatMap((v) => [Number(v >> 32n), Number(v & 0xffffffffn)]);

export function sha256(data: Uint8Array): Uint8Array {
  const view = padded(data, 64, false);
  const h = SHA256_H.slice();
  const w = new Array<number>(64);
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < view.byteLength; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h[0];
    let b = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    let f = h[5];
    let g = h[6];
    let hh = h[7];
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + SHA256_K[i] + w[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    const v = [a, b, c, d, e, f, g, hh];
    for (let i = 0; i < 8; i++) h[i] = (h[i] + v[i]) | 0;
  }
  const out = new DataView(new ArrayBuffer(32));
  h.forEach((x, i) => out.setUint32(i * 4, x));
  return new Uint8Array(out.buffer);
}

/** The message schedule, one for every call (the function never yields while it is in use). */
const W512 = new Int32Array(160);

export function sha512(data: Uint8Array): Uint8Array {
  const view = padded(data, 128, false);
  const h = SHA512_H.slice();
  const w = W512;
  // 64-bit values as (hi, lo) pairs of 32-bit integers; sums carry from lo to hi.
  for (let off = 0; off < view.byteLength; off += 128) {
    for (let i = 0; i < 32; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 80; i++) {
      const xh = w[(i - 15) * 2];
      const xl = w[(i - 15) * 2 + 1];
      // σ0 = rotr1 ^ rotr8 ^ shr7
      const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
      const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
      const yh = w[(i - 2) * 2];
      const yl = w[(i - 2) * 2 + 1];
      // σ1 = rotr19 ^ rotr61 ^ shr6
      const s1h = ((yh >>> 19) | (yl << 13)) ^ ((yl >>> 29) | (yh << 3)) ^ (yh >>> 6);
      const s1l = ((yl >>> 19) | (yh << 13)) ^ ((yh >>> 29) | (yl << 3)) ^ ((yl >>> 6) | (yh << 26));
      let lo = (w[(i - 16) * 2 + 1] >>> 0) + (s0l >>> 0) + (w[(i - 7) * 2 + 1] >>> 0) + (s1l >>> 0);
      const hi = w[(i - 16) * 2] + s0h + w[(i - 7) * 2] + s1h + Math.floor(lo / 2 ** 32);
      lo >>>= 0;
      w[i * 2] = hi | 0;
      w[i * 2 + 1] = lo | 0;
    }
    let [ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl] = h;
    for (let i = 0; i < 80; i++) {
      // Σ1(e) = rotr14 ^ rotr18 ^ rotr41
      const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
      const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
      const chh = (eh & fh) ^ (~eh & gh);
      const chl = (el & fl) ^ (~el & gl);
      let t1l = (hl >>> 0) + (S1l >>> 0) + (chl >>> 0) + (SHA512_K[i * 2 + 1] >>> 0) + (w[i * 2 + 1] >>> 0);
      const t1h = (hh + S1h + chh + SHA512_K[i * 2] + w[i * 2] + Math.floor(t1l / 2 ** 32)) | 0;
      t1l >>>= 0;
      // Σ0(a) = rotr28 ^ rotr34 ^ rotr39
      const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
      const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
      const majh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
      const majl = (al & bl) ^ (al & cl) ^ (bl & cl);
      const t2l = (S0l >>> 0) + (majl >>> 0);
      const t2h = (S0h + majh + Math.floor(t2l / 2 ** 32)) | 0;
      hh = gh;
      hl = gl;
      gh = fh;
      gl = fl;
      fh = eh;
      fl = el;
      const el2 = (dl >>> 0) + t1l;
      eh = (dh + t1h + Math.floor(el2 / 2 ** 32)) | 0;
      el = el2 | 0;
      dh = ch;
      dl = cl;
      ch = bh;
      cl = bl;
      bh = ah;
      bl = al;
      const al2 = t1l + (t2l >>> 0);
      ah = (t1h + t2h + Math.floor(al2 / 2 ** 32)) | 0;
      al = al2 | 0;
    }
    const v = [ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl];
    for (let i = 0; i < 16; i += 2) {
      const lo = (h[i + 1] >>> 0) + (v[i + 1] >>> 0);
      h[i] = (h[i] + v[i] + Math.floor(lo / 2 ** 32)) | 0;
      h[i + 1] = lo | 0;
    }
  }
  const out = new DataView(new ArrayBuffer(64));
  h.forEach((x, i) => out.setUint32(i * 4, x >>> 0));
  return new Uint8Array(out.buffer);
}
