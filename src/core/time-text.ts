// Time as text, made once per unit of time rather than once per use: a busy gateway writes
// many Date headers in a second and many log lines in a millisecond (nginx keeps its time
// strings the same way).

/** `format(ms)`, remembered until `ms` enters the next unit of `unitMs`. */
export function perUnit(unitMs: number, format: (ms: number) => string): (ms: number) => string {
  let unit = -1;
  let text = "";
  return (ms) => {
    const u = Math.floor(ms / unitMs);
    if (u !== unit) {
      unit = u;
      text = format(ms);
    }
    return text;
  };
}
