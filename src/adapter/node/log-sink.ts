// The log sink of `edgepass serve`. console.log writes each line to a pipe or file with its own
// system call, synchronously (Node does so on Linux), and a line per request was a visible
// share of a small request's CPU time. Lines logged in one turn of the event loop are written
// together at the end of it; whatever is left is written when the process exits.
import type { Level, LogSink } from "../../core/log.js";

export function bufferedStdioSink(out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): LogSink {
  let info = "";
  let errors = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    // Errors first: a warning about a request is written before its response line would be.
    if (errors) (err.write(errors), (errors = ""));
    if (info) (out.write(info), (info = ""));
  };
  process.once("exit", flush);
  return (level: Level, line: string) => {
    if (level === "error" || level === "warn") errors += line + "\n";
    else info += line + "\n";
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
