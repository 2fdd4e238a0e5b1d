// Which records each side of a FastCGI connection may receive (spec sections 4 and 5), and what
// the decoder does with each. Checked once per record header, before any content is reported,
// so a record that breaks the rules never reaches the host.

import {
  FCGI_BAD_LENGTH, FCGI_BAD_REQUEST_ID, FCGI_DUPLICATE_ID, FCGI_NOT_IN_FLIGHT, FCGI_UNDEFINED_TYPE,
  FCGI_UNEXPECTED_TYPE,
} from "../../abi/codes";
import {
  FCGI_ABORT_REQUEST, FCGI_BEGIN_REQUEST, FCGI_DATA, FCGI_END_REQUEST, FCGI_GET_VALUES,
  FCGI_GET_VALUES_RESULT, FCGI_MAXTYPE, FCGI_PARAMS, FCGI_STDERR, FCGI_STDIN, FCGI_STDOUT,
  FCGI_UNKNOWN_TYPE,
} from "../../abi/fastcgi";
import { MODE_CLIENT } from "../../abi/layout";
import { isInFlight } from "./inflight";

/** Report the content as stream pieces; an empty record closes the stream. */
export const ACT_STREAM = 1;
/** Report the content as pieces of a name-value stream, then a values-end event. */
export const ACT_VALUES = 2;
/** Collect the 8-byte body across chunks, then report it. */
export const ACT_BODY8 = 3;
/** Report an ABORT_REQUEST. */
export const ACT_ABORT = 4;
/** Skip the record silently. */
export const ACT_IGNORE = 5;
/** Report a management type this side does not know, skip its content. */
export const ACT_UNKNOWN_MGMT = 6;

/** An application record (spec 3.3: id != 0) for a request in flight. */
function appRecord(s: usize, id: u32, action: i32): i32 {
  if (id == 0) return FCGI_BAD_REQUEST_ID;
  if (!isInFlight(s, id)) return FCGI_NOT_IN_FLIGHT;
  return action;
}

/** A management record (spec 3.3: id 0). */
// @ts-ignore: decorator
@inline function mgmtRecord(id: u32, action: i32): i32 {
  return id == 0 ? action : FCGI_BAD_REQUEST_ID;
}

// @ts-ignore: decorator
@inline function fixedBody(contentLength: u32, want: u32, action: i32): i32 {
  return contentLength == want ? action : FCGI_BAD_LENGTH;
}

/** The web server's view: what an application may send it (spec 4.1, 4.2, 5.3, 5.5). */
function fromApp(s: usize, type: u32, id: u32, contentLength: u32): i32 {
  switch (type) {
    case FCGI_STDOUT:
    case FCGI_STDERR:
      return appRecord(s, id, ACT_STREAM);
    case FCGI_END_REQUEST: {
      const r = appRecord(s, id, ACT_BODY8);
      return r < 0 ? r : fixedBody(contentLength, 8, r);
    }
    case FCGI_GET_VALUES_RESULT:
      return mgmtRecord(id, ACT_VALUES);
    case FCGI_UNKNOWN_TYPE: {
      const r = mgmtRecord(id, ACT_BODY8);
      return r < 0 ? r : fixedBody(contentLength, 8, r);
    }
  }
  return type >= 1 && type <= <u32>FCGI_MAXTYPE ? FCGI_UNEXPECTED_TYPE : FCGI_UNDEFINED_TYPE;
}

/** The application's view: what a web server may send it (spec 4.1, 4.2, 5.1-5.4). */
function fromWebServer(s: usize, type: u32, id: u32, contentLength: u32): i32 {
  switch (type) {
    case FCGI_BEGIN_REQUEST: {
      if (id == 0) return FCGI_BAD_REQUEST_ID;
      if (isInFlight(s, id)) return FCGI_DUPLICATE_ID;
      return fixedBody(contentLength, 8, ACT_BODY8);
    }
    case FCGI_ABORT_REQUEST: {
      if (id == 0) return FCGI_BAD_REQUEST_ID;
      if (contentLength != 0) return FCGI_BAD_LENGTH;
      // The web server may abort a request the app has just finished (the END_REQUEST is
      // still on the wire): a benign race, so an abort for an id not in flight is dropped
      // instead of failing every other request multiplexed on the connection.
      return isInFlight(s, id) ? ACT_ABORT : ACT_IGNORE;
    }
    case FCGI_PARAMS:
    case FCGI_STDIN:
    case FCGI_DATA:
      return appRecord(s, id, ACT_STREAM);
    case FCGI_GET_VALUES:
      return mgmtRecord(id, ACT_VALUES);
  }
  if (type >= 1 && type <= <u32>FCGI_MAXTYPE) return FCGI_UNEXPECTED_TYPE;
  // Spec 4.2: the set of management types may grow; an app answers one it does not know with
  // FCGI_UNKNOWN_TYPE instead of failing. On an application record an unknown type is an error.
  return id == 0 ? ACT_UNKNOWN_MGMT : FCGI_UNDEFINED_TYPE;
}

/** The action for a record header, or a negative code. */
export function accept(s: usize, mode: i32, type: u32, id: u32, contentLength: u32): i32 {
  return mode == MODE_CLIENT ? fromApp(s, type, id, contentLength) : fromWebServer(s, type, id, contentLength);
}
