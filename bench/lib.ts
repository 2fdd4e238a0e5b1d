// Shared by the benchmarks: a warm-up-then-measure timer and a plain table printer.

/** Median nanoseconds per call over several timed batches, after a warm-up. */
export function timeIt(fn: () => unknown, batchMs = 300, batches = 7): number {
  let sink = 0;
  const start = performance.now();
  while (performance.now() - start < 200) sink += Number(fn()) || 0;
  let per = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < per; i++) sink += Number(fn()) || 0;
    if (performance.now() - t > batchMs / 4) break;
    per *= 2;
  }
  const results: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t = performance.now();
    for (let i = 0; i < per; i++) sink += Number(fn()) || 0;
    results.push(((performance.now() - t) * 1e6) / per);
  }
  if (sink === -1) console.log(sink);
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

export function table(title: string, rows: Array<Record<string, string>>): void {
  console.log(`\n${title}\n`);
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(width[i])).join(" | ") + " |";
  console.log(line(cols));
  console.log("|" + width.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
}

/** Operations per second of each function, measured in alternating rounds: all functions are
 *  warmed up, each is timed once per round in turn, and each figure is the median of `rounds`
 *  rounds, so drift on a shared machine hits every contender alike. */
export function alternate(fns: Record<string, () => unknown>, rounds = 9, batchMs = 80): Record<string, number> {
  let sink = 0;
  const names = Object.keys(fns);
  const per: Record<string, number> = {};
  for (const name of names) {
    const fn = fns[name];
    const start = performance.now();
    while (performance.now() - start < 150) sink += Number(fn()) || 0;
    let n = 1;
    for (;;) {
      const t = performance.now();
      for (let i = 0; i < n; i++) sink += Number(fn()) || 0;
      if (performance.now() - t > batchMs) break;
      n *= 2;
    }
    per[name] = n;
  }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const fn = fns[name];
      const n = per[name];
      const t = performance.now();
      for (let i = 0; i < n; i++) sink += Number(fn()) || 0;
      samples[name].push((n * 1000) / (performance.now() - t));
    }
  }
  if (sink === -1) console.log(sink);
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
