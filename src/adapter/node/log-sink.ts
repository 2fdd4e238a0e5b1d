// The log sink of `edgepass serve`. console.log writes each line to a pipe or file with its own
// system call, synchronously (Node does so on Linux), and a line per request was a visible
// share of a small request's CPU time; so was a write per turn of the event loop, which under
// load carries one or two lines. Request lines are written together every INFO_DELAY_MS (as
// nginx's `access_log ... buffer= flush=`), or at once before they would pass INFO_MAX_BYTES;
// warnings and errors at the end of the turn that logged them; whatever is left when the
// process exits. A request line is encoded into the batch's bytes as it comes, so its string (a
// tree of the pieces it was built from) dies young: a batch kept as one string lived through
// young collections and was flattened at the write, about 3 µs of CPU per request.
import type { Level, LogSink } from "../../core/log.js";

const INFO_DELAY_MS = 10;
const INFO_MAX_BYTES = 64 * 1024;

export function bufferedStdioSink(out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): LogSink {
  let info = Buffer.allocUnsafe(INFO_MAX_BYTES);
  let used = 0;
  let errors = "";
  let infoTimer: ReturnType<typeof setTimeout> | null = null;
  let errorsScheduled = false;
  const flushErrors = () => {
    errorsScheduled = false;
    if (errors) (err.write(errors), (errors = ""));
  };
  const flushInfo = () => {
    if (infoTimer !== null) (clearTimeout(infoTimer), (infoTimer = null));
    if (used === 0) return;
    // The stream may hold the bytes until they are written: the next lines go to new memory.
    out.write(info.subarray(0, used));
    info = Buffer.allocUnsafe(INFO_MAX_BYTES);
    used = 0;
  };
  const flush = () => {
    // Errors first: a warning about a request is written before its response line would be.
    flushErrors();
    flushInfo();
  };
  process.once("exit", flush);
  return (level: Level, line: string) => {
    if (level === "error" || level === "warn") {
      errors += line + "\n";
      if (!errorsScheduled) {
        errorsScheduled = true;
        setImmediate(flushErrors);
      }
      return;
    }
    // A UTF-16 unit takes at most 3 bytes in UTF-8; a line longer than a batch goes alone.
    if (used + 3 * line.length + 1 > INFO_MAX_BYTES) {
      flush();
      if (3 * line.length + 1 > INFO_MAX_BYTES) return void out.write(line + "\n");
    }
    used += info.write(line, used);
    info[used++] = 0x0a;
    if (infoTimer === null) infoTimer = setTimeout(flushInfo, INFO_DELAY_MS);
  };
}
