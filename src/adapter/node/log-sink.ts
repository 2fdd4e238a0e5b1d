// The log sink of `edgepass serve`. console.log writes each line to a pipe or file with its own
// system call, synchronously (Node does so on Linux), and a line per request was a visible
// share of a small request's CPU time; so was a write per turn of the event loop, which under
// load carries one or two lines. Request lines are written together every INFO_DELAY_MS (as
// nginx's `access_log ... buffer= flush=`), or at once when INFO_MAX_CHARS have gathered;
// warnings and errors at the end of the turn that logged them; whatever is left when the
// process exits.
import type { Level, LogSink } from "../../core/log.js";

const INFO_DELAY_MS = 10;
const INFO_MAX_CHARS = 64 * 1024;

export function bufferedStdioSink(out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): LogSink {
  let info = "";
  let errors = "";
  let infoTimer: ReturnType<typeof setTimeout> | null = null;
  let errorsScheduled = false;
  const flushErrors = () => {
    errorsScheduled = false;
    if (errors) (err.write(errors), (errors = ""));
  };
  const flushInfo = () => {
    if (infoTimer !== null) (clearTimeout(infoTimer), (infoTimer = null));
    if (info) (out.write(info), (info = ""));
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
    info += line + "\n";
    if (info.length >= INFO_MAX_CHARS) flush();
    else if (infoTimer === null) infoTimer = setTimeout(flushInfo, INFO_DELAY_MS);
  };
}
