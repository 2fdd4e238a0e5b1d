// The log sink of `edgepass serve`. console.log writes each line to a pipe or file with its own
// system call, and a line per request was a visible
// share of a small request's CPU time; so was a write per turn of the event loop, which under
// load carries one or two lines. Request lines are written together every INFO_DELAY_MS (as
// nginx's `access_log ... buffer= flush=`), or at once before they would pass INFO_MAX_BYTES;
// warnings and errors at the end of the turn that logged them; whatever is left when the
// process exits. A request line is encoded into the batch's bytes as it comes, so its string (a
// tree of the pieces it was built from) dies young: a batch kept as one string lived through
// young collections and was flattened at the write, about 3 µs of CPU per request.
//
// A pipe whose reader stops (a log shipper that hangs, a terminal paused) takes no more bytes,
// and Node keeps what it cannot write yet in memory, without a bound: at 15,000 requests a
// second that is some 4 MB a second until the process runs out of memory. Past BACKLOG_MAX
// bytes waiting, lines are dropped and counted instead: a log that stalls costs lines, never
// the server's memory. Once the backlog is below it again, a `log_lines_dropped` warning says
// how many went missing, where the gap is.
import { formatLine, type Level, type LogSink } from "../../core/log.js";

const INFO_DELAY_MS = 10;
const INFO_MAX_BYTES = 64 * 1024;
/** Bytes a stream may hold unwritten before lines for it are dropped. */
export const BACKLOG_MAX = 16 * 1024 * 1024;

/** What the sink needs of a stream: a Node Writable (process.stdout) has both. */
export interface LogStream {
  write(chunk: string | Uint8Array): boolean;
  /** Bytes written to it and not yet taken by the system (absent: it keeps none). */
  readonly writableLength?: number;
}

/** Writes to `s` until BACKLOG_MAX bytes wait in it; then refuses, and counts the lines it
 *  refused, to say before the next thing it takes. */
function bounded(s: LogStream): (chunk: string | Uint8Array, lines: number) => boolean {
  let dropped = 0;
  return (chunk, lines) => {
    if ((s.writableLength ?? 0) > BACKLOG_MAX) {
      dropped += lines;
      return false;
    }
    if (dropped > 0) {
      s.write(formatLine("warn", "log_lines_dropped", "-", { lines: dropped, detail: `the log's reader fell behind by more than ${BACKLOG_MAX} bytes; these lines were not written` }) + "\n");
      dropped = 0;
    }
    s.write(chunk);
    return true;
  };
}

/** Request lines gathered into one buffer and written together (see above). */
function batch(write: (chunk: Uint8Array | string, lines: number) => boolean, before: () => void) {
  let buf = Buffer.allocUnsafe(INFO_MAX_BYTES);
  let used = 0;
  let lines = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    if (timer !== null) (clearTimeout(timer), (timer = null));
    if (used === 0) return;
    // The stream may hold the bytes until they are written: the next lines go to new memory.
    // Refused, the batch's memory is used again.
    if (write(buf.subarray(0, used), lines)) buf = Buffer.allocUnsafe(INFO_MAX_BYTES);
    used = 0;
    lines = 0;
  };
  const add = (line: string) => {
    // A UTF-16 unit takes at most 3 bytes in UTF-8; a line longer than a batch goes alone.
    if (used + 3 * line.length + 1 > INFO_MAX_BYTES) {
      before();
      flush();
      if (3 * line.length + 1 > INFO_MAX_BYTES) return void write(line + "\n", 1);
    }
    used += buf.write(line, used);
    buf[used++] = 0x0a;
    lines++;
    if (timer === null) timer = setTimeout(flush, INFO_DELAY_MS);
  };
  return { add, flush };
}

/** `access`: where request lines go instead of `out` ([serve] access_log), asked at each
 *  write since SIGUSR1 may open it again. */
export function bufferedStdioSink(out: LogStream = process.stdout, err: LogStream = process.stderr, access?: LogStream): LogSink {
  const toOut = bounded(out);
  const toErr = bounded(err);
  let errors = "";
  let errorLines = 0;
  let errorsScheduled = false;
  const flushErrors = () => {
    errorsScheduled = false;
    if (!errors) return;
    toErr(errors, errorLines);
    errors = "";
    errorLines = 0;
  };
  // Errors first: a warning about a request is written before its response line would be.
  const info = batch(toOut, flushErrors);
  const requests = access ? batch((chunk) => access.write(chunk), flushErrors) : info;
  const flush = () => {
    flushErrors();
    info.flush();
    requests.flush();
  };
  process.once("exit", flush);
  return (level: Level, line: string, request?: boolean) => {
    if (level === "error" || level === "warn") {
      errors += line + "\n";
      errorLines++;
      if (!errorsScheduled) {
        errorsScheduled = true;
        setImmediate(flushErrors);
      }
      return;
    }
    (request ? requests : info).add(line);
  };
}
