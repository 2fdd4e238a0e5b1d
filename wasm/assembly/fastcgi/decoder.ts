// The incremental FastCGI record decoder. It takes the byte stream in chunks of any size and
// reports what each chunk completed or advanced as events in the state's event table. Content
// is reported as spans of the chunk as soon as it arrives (a gateway streams responses; it
// must not wait for a 64 KiB record), padding is skipped, and anything split across chunks
// (a header, an 8-byte body) is carried in the state. Record framing: spec 3.3.

import { BAD_ARGUMENT, FCGI_BAD_VERSION } from "../../abi/codes";
import {
  FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT, FCGI_HEADER_LEN,
  FCGI_VERSION_1,
} from "../../abi/fastcgi";
import {
  DEC_BODY, DEC_BODY_LEN, DEC_CONSUMED, DEC_DIRECT_LEFT, DEC_DIRECT_MIN, DEC_ERROR, DEC_EVENT_CAP, DEC_EVENTS, DEC_HDR, DEC_HDR_LEN,
  DEC_MODE, DEC_PADDING, DEC_PHASE, DEC_REMAINING, DEC_REQUEST_ID, DEC_STATE_SIZE, DEC_TYPE, EV_A,
  EV_B, EV_KIND, EV_REQUEST_ID, EV_TYPE, EVENT_SIZE, EVK_ABORT_REQUEST, EVK_BEGIN_REQUEST,
  EVK_END_REQUEST, EVK_STREAM_DATA, EVK_STREAM_END, EVK_UNKNOWN_TYPE, EVK_VALUES_DATA,
  EVK_VALUES_END, MODE_CLIENT, MODE_SERVER,
} from "../../abi/layout";
import { getU16BE, getU32BE } from "../util/bytes";
import {
  accept, ACT_ABORT, ACT_BODY8, ACT_IGNORE, ACT_STREAM, ACT_UNKNOWN_MGMT, ACT_VALUES,
} from "./accept";
import { setInFlight } from "./inflight";

const PH_HEADER = 0; // collecting a record header
const PH_CONTENT = 1; // reporting content (stream or values)
const PH_BODY = 2; // collecting an 8-byte body
const PH_PADDING = 3; // skipping padding
const PH_SKIP = 4; // skipping content nobody needs
const PH_VALUES_END = 5; // a values record is complete; its end event is still to be reported

/** Allocates a zeroed decoder state; returns its address, or BAD_ARGUMENT for a bad mode.
 *  Fixed size, allocated once per connection: nothing is allocated while decoding. */
export function decoderNew(mode: i32): i32 {
  if (mode != MODE_CLIENT && mode != MODE_SERVER) return BAD_ARGUMENT;
  const s = heap.alloc(DEC_STATE_SIZE);
  memory.fill(s, 0, DEC_STATE_SIZE);
  store<i32>(s + DEC_MODE, mode);
  return <i32>s;
}

export function decoderAtBoundary(s: usize): bool {
  return load<i32>(s + DEC_ERROR) == 0 && load<i32>(s + DEC_PHASE) == PH_HEADER && load<u32>(s + DEC_HDR_LEN) == 0;
}

function emit(s: usize, n: u32, kind: i32, type: u32, id: u32, a: u32, b: u32): u32 {
  const e = s + DEC_EVENTS + n * EVENT_SIZE;
  store<i32>(e + EV_KIND, kind);
  store<u32>(e + EV_TYPE, type);
  store<u32>(e + EV_REQUEST_ID, id);
  store<u32>(e + EV_A, a);
  store<u32>(e + EV_B, b);
  return n + 1;
}

// @ts-ignore: decorator
@inline function isValuesType(type: u32): bool {
  return type == FCGI_GET_VALUES || type == FCGI_GET_VALUES_RESULT;
}

// @ts-ignore: decorator
@inline function afterContent(s: usize): i32 {
  return load<u32>(s + DEC_PADDING) ? PH_PADDING : PH_HEADER;
}

/** Validates the header collected in DEC_HDR and sets up the record, storing the next phase in
 *  DEC_PHASE. May report one event (e.g. for an empty stream record); returns the new event
 *  count or a negative code. */
function onHeader(s: usize, pos: u32, n: u32): i32 {
  const h = s + DEC_HDR; // version already checked in decoderFeed
  const type = <u32>load<u8>(h + 1);
  const id = getU16BE(h + 2);
  const contentLength = getU16BE(h + 4);
  const action = accept(s, load<i32>(s + DEC_MODE), type, id, contentLength);
  if (action < 0) return action;
  store<u32>(s + DEC_TYPE, type);
  store<u32>(s + DEC_REQUEST_ID, id);
  store<u32>(s + DEC_REMAINING, contentLength);
  store<u32>(s + DEC_PADDING, load<u8>(h + 6));
  let m = n;
  let phase: i32;
  switch (action) {
    case ACT_STREAM:
      if (contentLength == 0) {
        m = emit(s, m, EVK_STREAM_END, type, id, pos, pos);
        phase = afterContent(s);
      } else phase = PH_CONTENT;
      break;
    case ACT_VALUES:
      phase = contentLength == 0 ? PH_VALUES_END : PH_CONTENT;
      break;
    case ACT_BODY8:
      store<u32>(s + DEC_BODY_LEN, 0);
      phase = PH_BODY;
      break;
    case ACT_ABORT:
      m = emit(s, m, EVK_ABORT_REQUEST, type, id, 0, 0);
      phase = afterContent(s);
      break;
    case ACT_UNKNOWN_MGMT:
      m = emit(s, m, EVK_UNKNOWN_TYPE, type, id, type, 0);
      phase = contentLength ? PH_SKIP : afterContent(s);
      break;
    default: // ACT_IGNORE
      assert(action == ACT_IGNORE);
      phase = contentLength ? PH_SKIP : afterContent(s);
  }
  store<i32>(s + DEC_PHASE, phase);
  return <i32>m;
}

/** Reports a completed 8-byte body (END_REQUEST 5.5, BEGIN_REQUEST 5.1, UNKNOWN_TYPE 4.2). */
function onBody(s: usize, n: u32): u32 {
  const b = s + DEC_BODY;
  const type = load<u32>(s + DEC_TYPE);
  const id = load<u32>(s + DEC_REQUEST_ID);
  if (type == FCGI_END_REQUEST) {
    // The request is complete: its id leaves the in-flight set and may be reused (spec 5.5).
    setInFlight(s, id, false);
    return emit(s, n, EVK_END_REQUEST, type, id, getU32BE(b), load<u8>(b + 4));
  }
  if (type == FCGI_BEGIN_REQUEST) {
    setInFlight(s, id, true);
    return emit(s, n, EVK_BEGIN_REQUEST, type, id, getU16BE(b), load<u8>(b + 2));
  }
  return emit(s, n, EVK_UNKNOWN_TYPE, type, id, load<u8>(b), 0);
}

/** Records a protocol error; the state stays failed from now on. */
function fail(s: usize, pos: u32, code: i32): i32 {
  store<i32>(s + DEC_ERROR, code);
  store<u32>(s + DEC_CONSUMED, pos);
  return code;
}

/** Feeds [buf, buf + len). Returns the number of events written to the event table (and
 *  stores the bytes consumed at DEC_CONSUMED), or a negative code. It stops early when the
 *  table is full or a values record is complete; the host then feeds the rest. After an error
 *  every call returns it. */
export function decoderFeed(s: usize, buf: usize, len: u32, direct: bool): i32 {
  const failed = load<i32>(s + DEC_ERROR);
  if (failed < 0) return failed;
  let pos: u32 = 0;
  let n: u32 = 0;
  let phase = load<i32>(s + DEC_PHASE);
  let left: u32 = 0;
  while (n < <u32>DEC_EVENT_CAP) {
    if (phase == PH_VALUES_END) {
      n = emit(s, n, EVK_VALUES_END, load<u32>(s + DEC_TYPE), 0, pos, pos);
      phase = afterContent(s);
      // Return with it: the host decodes the record's pairs before feeding on, so a malformed
      // values record fails before any later record's error does (errors in stream order),
      // and events are lost only with the call that fails.
      break;
    }
    if (pos >= len) break;
    const avail = len - pos;
    if (phase == PH_HEADER) {
      const have = load<u32>(s + DEC_HDR_LEN);
      // The version byte is checked as soon as it arrives: a peer that is not speaking
      // FastCGI (an HTTP server on the port, a desynchronised stream) fails at once instead
      // of after seven more bytes that may never come.
      if (have == 0 && load<u8>(buf + pos) != FCGI_VERSION_1) return fail(s, pos, FCGI_BAD_VERSION);
      const take = min<u32>(FCGI_HEADER_LEN - have, avail);
      memory.copy(s + DEC_HDR + have, buf + pos, take);
      pos += take;
      if (have + take < <u32>FCGI_HEADER_LEN) {
        store<u32>(s + DEC_HDR_LEN, have + take);
        continue;
      }
      store<u32>(s + DEC_HDR_LEN, 0);
      const r = onHeader(s, pos, n);
      if (r < 0) return fail(s, pos, r);
      n = <u32>r;
      phase = load<i32>(s + DEC_PHASE);
    } else if (phase == PH_CONTENT || phase == PH_SKIP) {
      const remaining = load<u32>(s + DEC_REMAINING);
      const take = min<u32>(remaining, avail);
      const values = isValuesType(load<u32>(s + DEC_TYPE));
      if (direct && phase == PH_CONTENT && !values && remaining >= <u32>DEC_DIRECT_MIN) {
        left = remaining;
        break;
      }
      if (phase == PH_CONTENT) {
        const kind = values ? EVK_VALUES_DATA : EVK_STREAM_DATA;
        n = emit(s, n, kind, load<u32>(s + DEC_TYPE), load<u32>(s + DEC_REQUEST_ID), pos, pos + take);
      }
      pos += take;
      store<u32>(s + DEC_REMAINING, remaining - take);
      if (remaining == take) {
        phase = phase == PH_CONTENT && values ? PH_VALUES_END : afterContent(s);
      }
    } else if (phase == PH_BODY) {
      const have = load<u32>(s + DEC_BODY_LEN);
      const take = min<u32>(8 - have, avail);
      memory.copy(s + DEC_BODY + have, buf + pos, take);
      pos += take;
      store<u32>(s + DEC_BODY_LEN, have + take);
      if (have + take == 8) {
        n = onBody(s, n);
        phase = afterContent(s);
      }
    } else {
      assert(phase == PH_PADDING);
      const padding = load<u32>(s + DEC_PADDING);
      const take = min<u32>(padding, avail);
      pos += take;
      store<u32>(s + DEC_PADDING, padding - take);
      if (padding == take) phase = PH_HEADER;
    }
  }
  store<i32>(s + DEC_PHASE, phase);
  store<u32>(s + DEC_CONSUMED, pos);
  store<u32>(s + DEC_DIRECT_LEFT, left);
  return <i32>n;
}

/** The host took `n` bytes of the stream content announced at DEC_DIRECT_LEFT from its own
 *  buffer. Returns 0, the decoder's error, or BAD_ARGUMENT when `n` is more than announced. */
export function decoderSkip(s: usize, n: u32): i32 {
  const failed = load<i32>(s + DEC_ERROR);
  if (failed < 0) return failed;
  const left = load<u32>(s + DEC_DIRECT_LEFT);
  if (n > left || load<i32>(s + DEC_PHASE) != PH_CONTENT) return BAD_ARGUMENT;
  const remaining = load<u32>(s + DEC_REMAINING) - n;
  store<u32>(s + DEC_REMAINING, remaining);
  store<u32>(s + DEC_DIRECT_LEFT, left - n);
  if (remaining == 0) store<i32>(s + DEC_PHASE, afterContent(s));
  return 0;
}
