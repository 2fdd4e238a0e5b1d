// nginx compiles location regexes with PCRE; edgepass runs them as JavaScript RegExps
// (without the "u" flag, whose Annex B escapes are the closer match to PCRE's leniency).
// Most PCRE-only syntax is a JS syntax error with an unhelpful message; some of it is worse:
// valid JS that means something else (\A, \Z, \h, \e, \p without "u", [[:alpha:]], "[]...]").
// This scan finds those constructs and says what to write instead. It is a lint, not a
// parser: it tracks escapes and character classes, which is all the checks need.

export interface PcreProblem {
  problem: string;
  hint: string;
}

// Escapes PCRE gives a meaning that a non-"u" JavaScript RegExp reads as a plain letter.
const ESCAPE_HINTS: Record<string, string> = {
  A: 'use "^" (edgepass tests the whole path, which has no newlines)',
  Z: 'use "$"',
  z: 'use "$"',
  G: "\\G has no JavaScript equivalent; rewrite without it",
  K: "\\K has no JavaScript equivalent; use a lookbehind (?<=...)",
  h: "write the characters out, e.g. [ \\t]",
  H: "write the characters out, e.g. [^ \\t]",
  R: "write the characters out, e.g. (?:\\r\\n|\\n|\\r)",
  N: "use [^\\n]",
  X: "\\X has no JavaScript equivalent",
  C: "\\C has no JavaScript equivalent",
  e: "use \\x1b",
  a: "use \\x07",
  o: "write the character as \\xHH",
  Q: "escape each special character with a backslash instead of \\Q...\\E",
  E: "escape each special character with a backslash instead of \\Q...\\E",
  g: "use \\1 or \\k<name> for back-references",
  p: "Unicode property classes are not supported in location regexes",
  P: "Unicode property classes are not supported in location regexes",
};

export function pcreOnlySyntax(re: string): PcreProblem | null {
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === "\\") {
      const n = re[i + 1];
      if (n === undefined) return null; // JS reports the dangling backslash itself
      if (n in ESCAPE_HINTS) {
        return { problem: `"\\${n}" means something else in JavaScript regular expressions`, hint: ESCAPE_HINTS[n] };
      }
      if (n === "x" && re[i + 2] === "{") {
        return { problem: '"\\x{...}" is PCRE-only syntax', hint: "use \\xHH or \\uHHHH" };
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      else if (c === "[" && /^\[([:.=])[A-Za-z0-9_-]*\1\]/.test(re.slice(i))) {
        return {
          problem: `POSIX class "${/^\[[:.=][A-Za-z0-9_-]*[:.=]\]/.exec(re.slice(i))![0]}" is PCRE-only syntax`,
          hint: "spell the class out, e.g. [a-zA-Z] for [:alpha:], [0-9] for [:digit:]",
        };
      }
      continue;
    }
    if (c === "[") {
      inClass = true;
      let j = i + 1;
      if (re[j] === "^") j++;
      if (re[j] === "]") {
        return {
          problem: `"${re.slice(i, j + 1)}" starts a class with a literal "]" in PCRE but is a complete (${re[i + 1] === "^" ? "match-anything" : "match-nothing"}) class in JavaScript`,
          hint: 'escape it: "\\]"',
        };
      }
      i = j - 1;
      continue;
    }
    if (c === "(") {
      const p = groupProblem(re, i);
      if (p) return p;
      continue;
    }
    if (c === "*" || c === "+" || c === "?" || c === "}") {
      if (c === "}" && !/\{\d+(,\d*)?\}$/.test(re.slice(0, i + 1))) continue;
      if (c === "?" && re[i - 1] === "(") continue;
      if (re[i + 1] === "+") {
        return {
          problem: `possessive quantifier "${c}+" is PCRE-only syntax`,
          hint: "drop the extra \"+\"; for paths the greedy form matches the same strings",
        };
      }
    }
  }
  return null;
}

function groupProblem(re: string, i: number): PcreProblem | null {
  const rest = re.slice(i);
  if (rest.startsWith("(*")) {
    return { problem: `PCRE verb "${/^\(\*[A-Z_0-9=:]*\)?/.exec(rest)![0]}" is not supported`, hint: "remove it" };
  }
  if (!rest.startsWith("(?")) return null;
  const t = rest.slice(2);
  if (/^(?::|=|!|<=|<!|<[A-Za-z])/.test(t)) return null; // (?:…) lookarounds, (?<name>…)
  if (t.startsWith("P<")) return { problem: 'named group "(?P<name>...)" is PCRE/Python syntax', hint: 'write "(?<name>...)"' };
  if (t.startsWith("'")) return { problem: `named group "(?'name'...)" is PCRE-only syntax`, hint: 'write "(?<name>...)"' };
  if (t.startsWith("P=") || t.startsWith("P>") || t.startsWith("&") || /^[R+\-\d]/.test(t)) {
    return { problem: "named references and recursion are PCRE-only syntax", hint: 'use "\\k<name>" for a back-reference' };
  }
  if (t.startsWith(">")) return { problem: 'atomic group "(?>...)" is PCRE-only syntax', hint: 'write "(?:...)"' };
  if (t.startsWith("|")) return { problem: 'branch-reset group "(?|...)" is PCRE-only syntax', hint: 'write "(?:...)"' };
  if (t.startsWith("#")) return { problem: 'comment "(?#...)" is PCRE-only syntax', hint: "remove it" };
  if (t.startsWith("(")) return { problem: 'conditional group "(?(...)...)" is PCRE-only syntax', hint: "split the route in two" };
  const flags = /^\^?[a-zA-Z]*(?:-[a-zA-Z]*)?[):]/.exec(t);
  if (flags) {
    const caseless = /^i[):]/.test(t);
    return {
      problem: `inline option "(?${flags[0]}" is not supported by JavaScript regular expressions`,
      hint: caseless ? 'write the route as "~* regex" for a case-insensitive match' : "remove the inline option",
    };
  }
  return null;
}
