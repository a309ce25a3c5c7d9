//! sprig's encodings and checksums: base64, base32, SHA-1, SHA-256,
//! Adler-32 and random UUIDs. The decoders follow Go's `encoding/base64`
//! and `encoding/base32` exactly, including where they report bad input.

use sha2::Digest as _;

use super::args::{arity, from_bytes, string};
use crate::value::Value;

/// The standard base64 alphabet.
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// The standard base32 alphabet.
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Checks a one-`string` signature and maps the string.
fn str1(name: &str, args: &[Value], f: impl FnOnce(&str) -> String) -> Result<Value, String> {
    arity(name, args, 1)?;
    Ok(Value::from(f(string(&args[0])?)))
}

/// Encodes `data` in groups of `group` bytes, each giving `chars` symbols
/// of `bits` bits from `alphabet`, padded with `=`.
fn encode_padded(data: &[u8], alphabet: &[u8], bits: u32, group: usize, chars: usize) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(group) * chars);
    for block in data.chunks(group) {
        let mut acc: u64 = 0;
        for (i, &b) in block.iter().enumerate() {
            acc |= u64::from(b) << (8 * (group - 1 - i));
        }
        let used = (block.len() * 8).div_ceil(bits as usize);
        for i in 0..chars {
            if i < used {
                let shift = bits as usize * (chars - 1 - i);
                out.push(char::from(
                    alphabet[((acc >> shift) & ((1 << bits) - 1)) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The value of a base64 symbol.
fn b64_value(c: u8) -> Option<u8> {
    B64.iter().position(|&x| x == c).map(|p| p as u8)
}

/// One step of Go's base64 `decodeQuantum`: decodes up to four symbols from
/// `src[si..]`, returning the new position and whether decoding ended.
fn b64_quantum(src: &[u8], mut si: usize, out: &mut Vec<u8>) -> Result<usize, usize> {
    let mut buf = [0u8; 4];
    let mut len = 4;
    let mut j = 0;
    while j < 4 {
        if si == src.len() {
            if j == 0 {
                return Ok(si);
            }
            return Err(si - j);
        }
        let c = src[si];
        si += 1;
        if let Some(v) = b64_value(c) {
            buf[j] = v;
            j += 1;
            continue;
        }
        if c == b'\n' || c == b'\r' {
            continue;
        }
        if c != b'=' || j < 2 {
            return Err(si - 1);
        }
        if j == 2 {
            // "==" is expected; the first "=" is consumed.
            while si < src.len() && matches!(src[si], b'\n' | b'\r') {
                si += 1;
            }
            if si == src.len() {
                return Err(src.len());
            }
            if src[si] != b'=' {
                return Err(si - 1);
            }
            si += 1;
        }
        while si < src.len() && matches!(src[si], b'\n' | b'\r') {
            si += 1;
        }
        if si < src.len() {
            return Err(si);
        }
        len = j;
        break;
    }
    let val = u32::from(buf[0]) << 18
        | u32::from(buf[1]) << 12
        | u32::from(buf[2]) << 6
        | u32::from(buf[3]);
    out.extend_from_slice(&val.to_be_bytes()[1..len]);
    Ok(si)
}

/// Go's `base64.StdEncoding.EncodeToString`.
pub(super) fn base64_encode(data: &[u8]) -> String {
    encode_padded(data, B64, 6, 3, 4)
}

/// Go's `base64.StdEncoding.DecodeString`; the error is the offset of the
/// first bad byte.
pub(super) fn base64_decode(s: &str) -> Result<Vec<u8>, usize> {
    let src = s.as_bytes();
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        si = b64_quantum(src, si, &mut out)?;
    }
    Ok(out)
}

/// Go's `base32.StdEncoding.DecodeString` (newlines are dropped first);
/// the error is the offset of the first bad byte.
fn b32_decode(s: &str) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = s.bytes().filter(|b| !matches!(b, b'\n' | b'\r')).collect();
    let total = src.len();
    let mut rest = &src[..];
    let mut out = Vec::new();
    let mut end = false;
    while !rest.is_empty() && !end {
        let mut buf = [0u8; 8];
        let mut len = 8;
        let mut j = 0;
        while j < 8 {
            let Some((&c, tail)) = rest.split_first() else {
                return Err(total - j);
            };
            rest = tail;
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return Err(total);
                }
                for k in 0..7 - j {
                    if rest.get(k).is_some_and(|&p| p != b'=') {
                        return Err(total - rest.len() + k - 1);
                    }
                }
                (len, end) = (j, true);
                if matches!(len, 1 | 3 | 6) {
                    return Err(total - rest.len() - 1);
                }
                break;
            }
            buf[j] = B32
                .iter()
                .position(|&x| x == c)
                .ok_or(total - rest.len() - 1)? as u8;
            j += 1;
        }
        let val = buf.iter().fold(0u64, |acc, &v| acc << 5 | u64::from(v));
        let bytes = match len {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            _ => 1,
        };
        out.extend_from_slice(&val.to_be_bytes()[3..3 + bytes]);
    }
    Ok(out)
}

/// `b64enc STR`.
pub(super) fn b64enc(args: &[Value]) -> Result<Value, String> {
    str1("b64enc", args, |s| base64_encode(s.as_bytes()))
}

/// `b64dec STR`: the decoded text, or Go's error message as the result.
pub(super) fn b64dec(args: &[Value]) -> Result<Value, String> {
    str1("b64dec", args, |s| match base64_decode(s) {
        Ok(bytes) => from_bytes(bytes),
        Err(at) => format!("illegal base64 data at input byte {at}"),
    })
}

/// `b32enc STR`.
pub(super) fn b32enc(args: &[Value]) -> Result<Value, String> {
    str1("b32enc", args, |s| {
        encode_padded(s.as_bytes(), B32, 5, 5, 8)
    })
}

/// `b32dec STR`: the decoded text, or Go's error message as the result.
pub(super) fn b32dec(args: &[Value]) -> Result<Value, String> {
    str1("b32dec", args, |s| match b32_decode(s) {
        Ok(bytes) => from_bytes(bytes),
        Err(at) => format!("illegal base32 data at input byte {at}"),
    })
}

/// Lowercase hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha1sum STR`: the hex SHA-1 digest.
pub(super) fn sha1sum(args: &[Value]) -> Result<Value, String> {
    str1("sha1sum", args, |s| hex(&sha1::Sha1::digest(s.as_bytes())))
}

/// `sha256sum STR`: the hex SHA-256 digest.
pub(super) fn sha256sum(args: &[Value]) -> Result<Value, String> {
    str1("sha256sum", args, |s| {
        hex(&sha2::Sha256::digest(s.as_bytes()))
    })
}

/// `adler32sum STR`: the Adler-32 checksum, in decimal.
pub(super) fn adler32sum(args: &[Value]) -> Result<Value, String> {
    str1("adler32sum", args, |s| {
        const MOD: u32 = 65521;
        let (a, b) = s.bytes().fold((1u32, 0u32), |(a, b), byte| {
            let a = (a + u32::from(byte)) % MOD;
            (a, (b + a) % MOD)
        });
        (b << 16 | a).to_string()
    })
}

/// `uuidv4`: a random UUID.
pub(super) fn uuidv4(args: &[Value]) -> Result<Value, String> {
    arity("uuidv4", args, 0)?;
    Ok(Value::from(uuid::Uuid::new_v4().hyphenated().to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sprig::args::strval;

    fn run(f: fn(&[Value]) -> Result<Value, String>, s: &str) -> String {
        f(&[Value::from(s)])
            .map(|v| strval(&v))
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn base64_matches_go() {
        let cases = [
            ("YWJj", "abc"),
            ("YWJ", "illegal base64 data at input byte 0"),
            ("YW=j", "illegal base64 data at input byte 2"),
            ("YQ==x", "illegal base64 data at input byte 4"),
            ("YQ=", "illegal base64 data at input byte 3"),
            ("Y\nW\rJj", "abc"),
            ("@", "illegal base64 data at input byte 0"),
            ("YQ", "illegal base64 data at input byte 0"),
            ("", ""),
            ("YWJjZA==", "abcd"),
            ("YWJjZA=\n=", "abcd"),
            ("YR==", "a"),
        ];
        for (input, want) in cases {
            assert_eq!(run(b64dec, input), want, "b64dec {input:?}");
        }
        assert_eq!(run(b64enc, "é"), "w6k=");
        assert_eq!(run(b64enc, "abcd"), "YWJjZA==");
    }

    #[test]
    fn base32_matches_go() {
        let cases = [
            ("MFRGGZA=", "abcd"),
            ("MFRGGZA", "illegal base32 data at input byte 0"),
            ("MFRGGZA==", "abcd"),
            ("MF======", "a"),
            ("M=======", "illegal base32 data at input byte 1"),
            ("mfrggza=", "illegal base32 data at input byte 0"),
            ("MFRG\nGZA=", "abcd"),
            ("MFRGG===", "abc"),
            ("MY======MY======", "illegal base32 data at input byte 2"),
            ("MFRGGZDFMZTWQ2LK", "abcdefghij"),
        ];
        for (input, want) in cases {
            assert_eq!(run(b32dec, input), want, "b32dec {input:?}");
        }
        assert_eq!(run(b32enc, "abcd"), "MFRGGZA=");
    }

    #[test]
    fn checksums_match_go() {
        assert_eq!(run(adler32sum, "hello"), "103547413");
        assert_eq!(run(adler32sum, ""), "1");
        assert_eq!(run(sha1sum, ""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            run(sha1sum, "hello"),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
        assert_eq!(
            run(sha256sum, "hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let id = uuidv4(&[]).map(|v| strval(&v)).unwrap_or_default();
        assert_eq!((id.len(), &id[14..15]), (36, "4"));
    }
}
