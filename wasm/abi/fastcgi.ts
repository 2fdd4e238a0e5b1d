// FastCGI 1.0 protocol numbers (spec section 8, "Types and constants"). Shared by the
// AssemblyScript framing code and the TypeScript codec; plain integer literals only.

export const FCGI_VERSION_1 = 1;
export const FCGI_HEADER_LEN = 8;
/** contentLength is a 16-bit field (spec 3.3). */
export const FCGI_MAX_CONTENT = 65535;
/** The id of management records (spec 3.3). */
export const FCGI_NULL_REQUEST_ID = 0;

export const FCGI_BEGIN_REQUEST = 1;
export const FCGI_ABORT_REQUEST = 2;
export const FCGI_END_REQUEST = 3;
export const FCGI_PARAMS = 4;
export const FCGI_STDIN = 5;
export const FCGI_STDOUT = 6;
export const FCGI_STDERR = 7;
export const FCGI_DATA = 8;
export const FCGI_GET_VALUES = 9;
export const FCGI_GET_VALUES_RESULT = 10;
export const FCGI_UNKNOWN_TYPE = 11;
export const FCGI_MAXTYPE = 11;

export const FCGI_KEEP_CONN = 1;

export const FCGI_RESPONDER = 1;
export const FCGI_AUTHORIZER = 2;
export const FCGI_FILTER = 3;

export const FCGI_REQUEST_COMPLETE = 0;
export const FCGI_CANT_MPX_CONN = 1;
export const FCGI_OVERLOADED = 2;
export const FCGI_UNKNOWN_ROLE = 3;
