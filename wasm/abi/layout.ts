// Memory layouts and enumerations the host reads or passes. All offsets are in bytes from the
// start of the structure, all fields are little-endian i32 (Wasm's native order) and 4-aligned.
// Append-only, like codes.ts: a field keeps its offset forever; new fields go after the last.
// Compiled by both AssemblyScript and TypeScript: plain integer literals only, no imports.

/** Bumped only if a documented layout or signature ever has to change incompatibly. */
export const ABI_VERSION = 1;

// --- FastCGI decoder state (created by fcgi_decoder_new, size DEC_STATE_SIZE) ---
// Hosts read DEC_CONSUMED and the event table; every other field is private to the module.

export const DEC_MODE = 0;
export const DEC_PHASE = 4;
export const DEC_ERROR = 8;
/** Bytes of the last fcgi_decoder_feed input that were consumed (<= len). */
export const DEC_CONSUMED = 12;
export const DEC_HDR_LEN = 16;
export const DEC_TYPE = 20;
export const DEC_REQUEST_ID = 24;
export const DEC_REMAINING = 28;
export const DEC_PADDING = 32;
export const DEC_BODY_LEN = 36;
/** 8 bytes: a record header being collected across chunks. */
export const DEC_HDR = 40;
/** 8 bytes: a fixed-size record body being collected across chunks. */
export const DEC_BODY = 48;
/** Stream content left in the current record that fcgi_decoder_scan handed to the host (0
 *  otherwise); while it is not 0, DEC_TYPE and DEC_REQUEST_ID say whose content it is. */
export const DEC_DIRECT_LEFT = 56;
/** fcgi_decoder_scan stops at stream content of at least this many bytes, so the host takes
 *  it from its own buffer instead of copying it into Wasm memory. */
export const DEC_DIRECT_MIN = 2048;
/** The event table: DEC_EVENT_CAP entries of EVENT_SIZE bytes. */
export const DEC_EVENTS = 64;
export const DEC_EVENT_CAP = 64;
/** In-flight bitmap: bit (id & 7) of byte (id >> 3) for ids 0..65535. */
export const DEC_BITMAP = 1344; // DEC_EVENTS + DEC_EVENT_CAP * EVENT_SIZE
export const DEC_STATE_SIZE = 9536; // DEC_BITMAP + 65536 / 8

/** Decoder modes (fcgi_decoder_new). */
export const MODE_CLIENT = 0;
export const MODE_SERVER = 1;

// --- One decoder event (EVENT_SIZE bytes) ---
export const EVENT_SIZE = 20;
export const EV_KIND = 0;
/** FastCGI record type the event came from. */
export const EV_TYPE = 4;
export const EV_REQUEST_ID = 8;
/** Span start (offset into the fed buffer), or appStatus, role, or the unknown type. */
export const EV_A = 12;
/** Span end (exclusive), or protocolStatus, or flags. */
export const EV_B = 16;

/** A piece of a PARAMS/STDIN/DATA/STDOUT/STDERR record's content: EV_A..EV_B in the fed buffer. */
export const EVK_STREAM_DATA = 1;
/** An empty PARAMS/STDIN/DATA/STDOUT/STDERR record: that stream is closed (EV_A = EV_B). */
export const EVK_STREAM_END = 2;
/** END_REQUEST: EV_A = appStatus (u32, read it unsigned), EV_B = protocolStatus. */
export const EVK_END_REQUEST = 3;
/** BEGIN_REQUEST (server mode): EV_A = role, EV_B = flags. */
export const EVK_BEGIN_REQUEST = 4;
/** ABORT_REQUEST (server mode). */
export const EVK_ABORT_REQUEST = 5;
/** A piece of GET_VALUES / GET_VALUES_RESULT content (a name-value stream): EV_A..EV_B. */
export const EVK_VALUES_DATA = 6;
/** The GET_VALUES / GET_VALUES_RESULT record is complete; join its pieces and decode pairs. */
export const EVK_VALUES_END = 7;
/** Client: the app's UNKNOWN_TYPE reply; server: a management record type to answer with
 *  UNKNOWN_TYPE (its content is skipped). EV_A = the type in question. */
export const EVK_UNKNOWN_TYPE = 8;

// --- Name-value offset table (fcgi_decode_pairs): PAIR_SIZE bytes per pair ---
export const PAIR_SIZE = 16;
export const PAIR_NAME_START = 0;
export const PAIR_NAME_END = 4;
export const PAIR_VALUE_START = 8;
export const PAIR_VALUE_END = 12;

// --- CGI response head table (cgi_parse_head) ---
export const HEAD_STATUS = 0;
/** Reason phrase from "Status: NNN reason", OWS trimmed; start == end when absent. */
export const HEAD_REASON_START = 4;
export const HEAD_REASON_END = 8;
/** Number of field entries that follow (the Status field is not among them). */
export const HEAD_FIELD_COUNT = 12;
export const HEAD_FIELDS = 16;
/** Each field entry: name start/end, value start/end (OWS trimmed), offsets into the buffer. */
export const FIELD_SIZE = 16;
export const FIELD_NAME_START = 0;
export const FIELD_NAME_END = 4;
export const FIELD_VALUE_START = 8;
export const FIELD_VALUE_END = 12;

// --- cgi_build_params options ---
/** Keep client headers whose name contains "_" (default: drop them, like nginx). */
export const PARAMS_UNDERSCORES = 1;
/** Output format in bits 8..15. */
export const PARAMS_FORMAT_SHIFT = 8;
export const FORMAT_FASTCGI = 0;
export const FORMAT_SCGI = 1;
export const FORMAT_UWSGI = 2;
/** Most client header fields cgi_build_params accepts. Each header's name is compared with the
 *  others (joins) and with the owned names, so the work grows with the square of the count; a
 *  cap keeps a flood of tiny headers from costing seconds of CPU. Apache allows 100 fields,
 *  HAProxy 101; this is generous. */
export const PARAMS_MAX_HEADERS = 1000;
