// Host (RFC 9110 7.2) = uri-host [ ":" port ], uri-host = IP-literal / IPv4address / reg-name
// (RFC 3986 3.2.2). Also the authority-form of a CONNECT target (RFC 9112 3.2.3), where the port
// is required. The check is on bytes only: a Host carrying "@", "/", whitespace or a second ":"
// would be read differently by the routing here and by the app behind us.

import { HTTP_BAD_HOST, HTTP_BAD_TARGET } from "../../abi/codes";
import { isDigit, isIpLiteralByte, isRegNameByte } from "./tables";

/** Checks [p, p + n). Returns 0, or HTTP_BAD_TARGET (authority form) / HTTP_BAD_HOST. An empty
 *  Host is valid (RFC 9112 3.2: the target had no authority); an empty authority is not. */
export function validHost(p: usize, n: u32, authorityForm: bool): i32 {
  const bad = authorityForm ? HTTP_BAD_TARGET : HTTP_BAD_HOST;
  let i: u32 = 0;
  if (n > 0 && load<u8>(p) == 0x5b) { // "[" IP-literal "]"
    i = 1;
    while (i < n && load<u8>(p + i) != 0x5d) {
      if (!isIpLiteralByte(load<u8>(p + i))) return bad;
      i++;
    }
    if (i == n || i == 1) return bad;
    i++;
  } else {
    while (i < n && load<u8>(p + i) != 0x3a) {
      if (!isRegNameByte(load<u8>(p + i))) return bad;
      i++;
    }
  }
  if (i == n) return authorityForm ? bad : 0;
  if (load<u8>(p + i) != 0x3a) return bad;
  i++;
  // port = *DIGIT (RFC 3986 3.2.3); the authority form needs a non-empty host and port.
  if (authorityForm && (i == n || i == 1)) return bad;
  for (; i < n; i++) if (!isDigit(load<u8>(p + i))) return bad;
  return 0;
}
