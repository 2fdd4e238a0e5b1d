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
