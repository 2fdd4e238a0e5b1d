// The serve log sink: request lines gathered and written together, warnings and errors at the
// end of the turn, nothing lost or reordered, and a bounded buffer.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BACKLOG_MAX, bufferedStdioSink } from "../../src/adapter/node/log-sink";

/** A stream that keeps what it was given, as a stream whose write is still pending does:
 *  request lines come as bytes (UTF-8), read only when the test looks. */
function stream() {
  const chunks: Array<string | Buffer> = [];
  const s = { writableLength: 0, write: (x: string | Buffer) => (chunks.push(x), true) };
  return {
    get writes() {
      return chunks.map(String);
    },
    s,
  };
}

describe("bufferedStdioSink", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("writes the request lines of several turns in one write, in order", async () => {
    const out = stream();
    const err = stream();
    const sink = bufferedStdioSink(out.s, err.s);
    sink("info", "a");
    await vi.advanceTimersByTimeAsync(1);
    sink("info", "b");
    sink("debug", "c");
    expect(out.writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(out.writes).toEqual(["a\nb\nc\n"]);
    sink("info", "d");
    await vi.advanceTimersByTimeAsync(20);
    expect(out.writes).toEqual(["a\nb\nc\n", "d\n"]);
    expect(err.writes).toEqual([]);
  });

  it("with an access stream ([serve] access_log), request lines go there in their own batches; other info lines stay on out, warnings on err", async () => {
    const [out, err, access] = [stream(), stream(), stream()];
    const sink = bufferedStdioSink(out.s, err.s, access.s);
    sink("info", "r1", true);
    sink("info", "event");
    sink("info", "r2", true);
    sink("warn", "careful");
    await vi.advanceTimersByTimeAsync(20);
    expect([access.writes, out.writes, err.writes]).toEqual([["r1\nr2\n"], ["event\n"], ["careful\n"]]);
  });

  it("writes warnings and errors at the end of the turn, before the request lines waiting", async () => {
    const out = stream();
    const err = stream();
    const sink = bufferedStdioSink(out.s, err.s);
    const order: string[] = [];
    out.s.write = ((x: string) => (order.push(`out ${x}`), true)) as never;
    err.s.write = ((x: string) => (order.push(`err ${x}`), true)) as never;
    sink("info", "line");
    sink("warn", "w");
    sink("error", "e");
    expect(order).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(["err w\ne\n"]);
    await vi.advanceTimersByTimeAsync(20);
    expect(order).toEqual(["err w\ne\n", "out line\n"]);
  });

  it("writes at once before a line might not fit in 64 KiB, so the buffer stays bounded", async () => {
    const out = stream();
    const sink = bufferedStdioSink(out.s, stream().s);
    const line = "x".repeat(999);
    for (let i = 0; i < 70; i++) sink("info", line);
    // Room is kept for 3 bytes a char (UTF-8's most for one UTF-16 unit): 63 lines and the
    // room for the 64th would pass 65,536 bytes.
    expect(out.writes).toEqual([`${line}\n`.repeat(63)]);
    await vi.advanceTimersByTimeAsync(20);
    expect(out.writes.slice(1)).toEqual([`${line}\n`.repeat(7)]);
  });

  it("writes a line as UTF-8, and one too long for a batch alone, after the lines before it", async () => {
    const out = stream();
    const sink = bufferedStdioSink(out.s, stream().s);
    sink("info", '{"path":"/caf\u00e9/\u{1f600}"}');
    const long = "y".repeat(30_000);
    sink("info", long);
    sink("info", "after");
    expect(out.writes).toEqual(['{"path":"/caf\u00e9/\u{1f600}"}\n', `${long}\n`]);
    await vi.advanceTimersByTimeAsync(20);
    expect(out.writes.slice(2)).toEqual(["after\n"]);
  });

  it("writes what is left when the process exits", () => {
    const out = stream();
    const err = stream();
    const before = process.listeners("exit");
    const sink = bufferedStdioSink(out.s, err.s);
    // The sink's own exit listener, called as the exit would (no one else's).
    const atExit = process.listeners("exit").filter((l) => !before.includes(l));
    expect(atExit.length).toBe(1);
    sink("info", "last");
    sink("error", "bye");
    atExit[0].call(process, 0);
    process.off("exit", atExit[0]);
    expect(err.writes).toEqual(["bye\n"]);
    expect(out.writes).toEqual(["last\n"]);
  });

  it("drops request lines while the stream holds more than BACKLOG_MAX unwritten, then says how many", async () => {
    const out = stream();
    const sink = bufferedStdioSink(out.s, stream().s);
    sink("info", "before");
    await vi.advanceTimersByTimeAsync(20);
    // The reader stopped: Node keeps what it could not write.
    out.s.writableLength = BACKLOG_MAX + 1;
    for (let i = 0; i < 5; i++) sink("info", `lost ${i}`);
    await vi.advanceTimersByTimeAsync(20);
    sink("info", "x".repeat(30_000)); // alone, and dropped too
    sink("info", "lost 6");
    await vi.advanceTimersByTimeAsync(20);
    expect(out.writes).toEqual(["before\n"]);
    // It reads again.
    out.s.writableLength = 0;
    sink("info", "after");
    await vi.advanceTimersByTimeAsync(20);
    expect(out.writes.length).toBe(3);
    const gap = JSON.parse(out.writes[1]);
    expect(gap).toMatchObject({ level: "warn", event: "log_lines_dropped", lines: 7 });
    expect(out.writes[2]).toBe("after\n");
  });

  it("drops warnings and errors the same way on their own stream", async () => {
    const out = stream();
    const err = stream();
    const sink = bufferedStdioSink(out.s, err.s);
    err.s.writableLength = BACKLOG_MAX + 1;
    sink("warn", "w1");
    sink("error", "e1");
    await vi.advanceTimersByTimeAsync(0);
    sink("info", "line");
    await vi.advanceTimersByTimeAsync(20);
    expect(err.writes).toEqual([]);
    expect(out.writes).toEqual(["line\n"]);
    err.s.writableLength = 0;
    sink("error", "e2");
    await vi.advanceTimersByTimeAsync(0);
    expect(err.writes.length).toBe(2);
    expect(JSON.parse(err.writes[0])).toMatchObject({ event: "log_lines_dropped", lines: 2 });
    expect(err.writes[1]).toBe("e2\n");
  });
});
