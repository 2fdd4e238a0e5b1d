// Parameter block encodings. One pair is written as head, value bytes, tail:
//   fastcgi: nameLen valueLen (1 or 4 bytes each, FastCGI spec 3.4) name | value |
//   scgi:    name NUL | value | NUL            (SCGI spec section 3, without the netstring)
//   uwsgi:   u16le nameLen, name, u16le valueLen | value |   (uwsgi packet format, modifier 0)

import { CGI_PARAM_TOO_LONG } from "../../abi/codes";
import { FORMAT_FASTCGI, FORMAT_SCGI } from "../../abi/layout";
import { lengthSize, putLength } from "../fastcgi/pairs";

/** Bytes one pair takes, or CGI_PARAM_TOO_LONG when the format cannot encode a length. */
export function pairBytes(format: u32, nameLen: u32, valueLen: u32): i64 {
  if (format == FORMAT_FASTCGI) {
    if (nameLen > 0x7fffffff || valueLen > 0x7fffffff) return CGI_PARAM_TOO_LONG;
    return <i64>(lengthSize(nameLen) + lengthSize(valueLen)) + <i64>nameLen + <i64>valueLen;
  }
  if (format == FORMAT_SCGI) return <i64>nameLen + <i64>valueLen + 2;
  if (nameLen > 0xffff || valueLen > 0xffff) return CGI_PARAM_TOO_LONG;
  return <i64>nameLen + <i64>valueLen + 4;
}

/** Writes everything before the name bytes; returns its size. */
export function putBeforeName(format: u32, q: usize, nameLen: u32, valueLen: u32): u32 {
  if (format == FORMAT_FASTCGI) {
    const k = putLength(q, nameLen);
    return k + putLength(q + k, valueLen);
  }
  if (format == FORMAT_SCGI) return 0;
  store<u16>(q, <u16>nameLen);
  return 2;
}

/** Writes everything between the name and the value bytes; returns its size. */
export function putBetween(format: u32, q: usize, valueLen: u32): u32 {
  if (format == FORMAT_FASTCGI) return 0;
  if (format == FORMAT_SCGI) {
    store<u8>(q, 0);
    return 1;
  }
  store<u16>(q, <u16>valueLen);
  return 2;
}

/** Writes everything after the value bytes; returns its size. */
export function putAfterValue(format: u32, q: usize): u32 {
  if (format == FORMAT_SCGI) {
    store<u8>(q, 0);
    return 1;
  }
  return 0;
}
