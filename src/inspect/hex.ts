// Hex text as bytes: plain hex digits (any whitespace, "0x" or "\x" prefixes, ":" "," "-"
// separators), `xxd` output, or `hexdump -C` output. Lines starting with "#" are comments.

const XXD = /^[0-9a-fA-F]{6,16}: ((?:[0-9a-fA-F]{2,4} ?)+?)(?:\s{2}.*)?$/;
const HEXDUMP_C = /^[0-9a-fA-F]{6,16}((?:\s+[0-9a-fA-F]{2}){1,16})\s*(?:\|.*\|)?\s*$/;

/** The bytes the text spells, or null when it is not hex text. */
export function parseHex(text: string): Uint8Array | null {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  if (lines.length === 0) return null;
  const dumped = lines.map((l) => XXD.exec(l)?.[1] ?? HEXDUMP_C.exec(l)?.[1]);
  const body = dumped.every((d) => d !== undefined) ? dumped.join(" ") : lines.join(" ");
  const digits = body.replace(/0x|\\x/gi, " ").replace(/[\s:,\-]+/g, "");
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(digits)) return null;
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** True when the bytes are text a person could have typed (no controls but whitespace). */
export function isText(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 9 || b === 10 || b === 13 || (b >= 0x20 && b < 0x7f));
}
