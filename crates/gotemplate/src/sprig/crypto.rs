//! sprig's password and symmetric crypto functions: bcrypt, htpasswd,
//! random bytes, the Master Password algorithm (`derivePassword`) and
//! AES-256-CBC (`encryptAES`/`decryptAES`).

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{KeyInit, Mac};

use super::args::{MAX_OUTPUT, arity, int, string, too_big, wrong_type};
use super::encoding::{base64_decode, base64_encode};
use crate::value::Value;

/// AES's block size.
const BLOCK: usize = 16;
/// Go's `bcrypt.DefaultCost`.
const BCRYPT_COST: u32 = 10;

/// A bcrypt hash of `password` in Go's `$2a$` form, or sprig's message.
fn bcrypt_hash(function: &str, password: &str) -> Result<String, String> {
    crate::cost::charge(function, crate::cost::BCRYPT)?;
    Ok(match bcrypt::hash_with_result(password, BCRYPT_COST) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    })
}

/// `bcrypt STR`: a bcrypt hash (cost 10).
pub(super) fn bcrypt(args: &[Value]) -> Result<Value, String> {
    arity("bcrypt", args, 1)?;
    Ok(Value::from(bcrypt_hash("bcrypt", string(&args[0])?)?))
}

/// `htpasswd USER PASSWORD`: an Apache htpasswd line with a bcrypt hash.
pub(super) fn htpasswd(args: &[Value]) -> Result<Value, String> {
    arity("htpasswd", args, 2)?;
    let (user, password) = (string(&args[0])?, string(&args[1])?);
    if user.contains(':') {
        return Ok(Value::from(format!("invalid username: {user}")));
    }
    Ok(Value::from(format!(
        "{user}:{}",
        bcrypt_hash("htpasswd", password)?
    )))
}

/// `randBytes N`: N random bytes, base64 encoded.
pub(super) fn rand_bytes(args: &[Value]) -> Result<Value, String> {
    arity("randBytes", args, 1)?;
    let count = usize::try_from(int(&args[0])?)
        .map_err(|_| "runtime error: makeslice: len out of range".to_string())?;
    if count > MAX_OUTPUT {
        return Err(too_big());
    }
    let mut buf = vec![0u8; count];
    rand::fill(&mut buf[..]);
    Ok(Value::from(base64_encode(&buf)))
}

/// The Master Password site templates, by password type.
fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

/// The characters a Master Password template letter stands for.
fn template_chars(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// The Master Password scope, then a length-prefixed name.
fn scoped(name: &str) -> Vec<u8> {
    let mut out = b"com.lyndir.masterpassword".to_vec();
    out.extend_from_slice(&(name.len() as u32).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out
}

/// `derivePassword COUNTER TYPE PASSWORD USER SITE`: the Master Password
/// algorithm (scrypt, then HMAC-SHA256 into a site template).
pub(super) fn derive_password(args: &[Value]) -> Result<Value, String> {
    arity("derivePassword", args, 5)?;
    let counter = match &args[0] {
        Value::Int(n) if *n >= 0 => *n as u32,
        other => return Err(wrong_type("uint32", other)),
    };
    let (kind, password, user, site) = (
        string(&args[1])?,
        string(&args[2])?,
        string(&args[3])?,
        string(&args[4])?,
    );
    let Some(templates) = templates(kind) else {
        return Ok(Value::from(format!("cannot find password template {kind}")));
    };
    crate::cost::charge("derivePassword", crate::cost::SCRYPT)?;
    let params =
        scrypt::Params::new(15, 8, 2).map_err(|e| format!("failed to derive password: {e}"))?;
    let mut key = [0u8; 64];
    scrypt::scrypt(password.as_bytes(), &scoped(user), &params, &mut key)
        .map_err(|e| format!("failed to derive password: {e}"))?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    let mut message = scoped(site);
    message.extend_from_slice(&counter.to_be_bytes());
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    let out = template
        .bytes()
        .zip(seed.iter().skip(1))
        .map(|(class, &s)| {
            let chars = template_chars(class);
            char::from(chars[usize::from(s) % chars.len()])
        })
        .collect::<String>();
    Ok(Value::from(out))
}

/// The AES-256 key sprig derives from a password: its bytes, zero padded
/// or cut to 32.
fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let bytes = password.as_bytes();
    let n = bytes.len().min(32);
    key[..n].copy_from_slice(&bytes[..n]);
    key
}

/// `encryptAES PASSWORD TEXT`: AES-256-CBC with PKCS#7 padding and a
/// random IV in front, base64 encoded ("" for "").
pub(super) fn encrypt_aes(args: &[Value]) -> Result<Value, String> {
    arity("encryptAES", args, 2)?;
    let (password, text) = (string(&args[0])?, string(&args[1])?);
    if text.is_empty() {
        return Ok(Value::from(""));
    }
    let pad = BLOCK - text.len() % BLOCK;
    let mut out = vec![0u8; BLOCK];
    rand::fill(&mut out[..]);
    let iv: [u8; BLOCK] = out[..BLOCK].try_into().map_err(|_| "bad IV".to_string())?;
    let mut body: Vec<u8> = text
        .bytes()
        .chain(std::iter::repeat_n(pad as u8, pad))
        .collect();
    let mut cipher = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    for block in body.chunks_exact_mut(BLOCK) {
        cipher.encrypt_block(
            (&mut *block)
                .try_into()
                .map_err(|_| "bad block".to_string())?,
        );
    }
    out.append(&mut body);
    Ok(Value::from(base64_encode(&out)))
}

/// `decryptAES PASSWORD TEXT`: the inverse of `encryptAES`, with Go's
/// panics for input that is too short or badly padded.
pub(super) fn decrypt_aes(args: &[Value]) -> Result<Value, String> {
    arity("decryptAES", args, 2)?;
    let (password, encoded) = (string(&args[0])?, string(&args[1])?);
    if encoded.is_empty() {
        return Ok(Value::from(""));
    }
    let data =
        base64_decode(encoded).map_err(|at| format!("illegal base64 data at input byte {at}"))?;
    if data.len() < BLOCK {
        return Err(format!(
            "runtime error: slice bounds out of range [:{BLOCK}] with capacity {}",
            data.len()
        ));
    }
    let (iv, body) = data.split_at(BLOCK);
    if body.len() % BLOCK != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let iv: [u8; BLOCK] = iv.try_into().map_err(|_| "bad IV".to_string())?;
    let mut plain = body.to_vec();
    let mut cipher = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    for block in plain.chunks_exact_mut(BLOCK) {
        cipher.decrypt_block(
            (&mut *block)
                .try_into()
                .map_err(|_| "bad block".to_string())?,
        );
    }
    let Some(&pad) = plain.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let keep = plain.len() as i64 - i64::from(pad);
    if keep < 0 {
        return Err(format!(
            "runtime error: slice bounds out of range [:{keep}]"
        ));
    }
    plain.truncate(keep as usize);
    Ok(Value::from(super::args::from_bytes(plain)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sprig::args::strval;

    fn call(f: fn(&[Value]) -> Result<Value, String>, args: &[Value]) -> String {
        f(args)
            .map(|v| strval(&v))
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    fn s(x: &str) -> Value {
        Value::from(x)
    }

    // Expected values below were produced by Go 1.19 + sprig 3.2.3.
    #[test]
    fn derive_password_matches_go() {
        let cases = [
            (
                1,
                "long",
                "password",
                "user",
                "example.com",
                "ZedaFaxcZaso9*",
            ),
            (3, "pin", "pässword", "üser", "example.com", "0746"),
            (4_294_967_295, "pin", "a", "b", "c", "3483"),
            (
                1,
                "nope",
                "a",
                "b",
                "c",
                "cannot find password template nope",
            ),
        ];
        for (counter, kind, pw, user, site, want) in cases {
            let args = [Value::Int(counter), s(kind), s(pw), s(user), s(site)];
            assert_eq!(call(derive_password, &args), want, "{kind} {pw:?}");
        }
    }

    #[test]
    fn aes_matches_go() {
        let go_cipher = "/pxBWotGYlK92dnWG0LDSOnweUM6eUdYnLkCs+NjJ7k=";
        assert_eq!(call(decrypt_aes, &[s("secretkey"), s(go_cipher)]), "hello");
        let long_key = "0123456789abcdef0123456789abcdefXYZ";
        let go_cipher = "nxi7YoyxktW/ZH7IXhKZMUUQYXWyXQD/JN9CSLjwi7Wq5cFf3eDfpV+c531MYRpQ";
        assert_eq!(
            call(decrypt_aes, &[s(long_key), s(go_cipher)]),
            "sixteen bytes!!!"
        );
        let ours = call(encrypt_aes, &[s("k"), s("round trip")]);
        assert_eq!(call(decrypt_aes, &[s("k"), s(&ours)]), "round trip");
        assert_eq!(call(encrypt_aes, &[s("k"), s("")]), "");
        assert_eq!(call(decrypt_aes, &[s("k"), s("")]), "");
        assert_eq!(
            call(decrypt_aes, &[s("k"), s("YWJj")]),
            "ERR runtime error: slice bounds out of range [:16] with capacity 3"
        );
        assert_eq!(
            call(decrypt_aes, &[s("k"), s("!!")]),
            "ERR illegal base64 data at input byte 0"
        );
        assert_eq!(
            call(decrypt_aes, &[s("k"), s("AAAAAAAAAAAAAAAAAAAAAA==")]),
            "ERR runtime error: index out of range [-1]"
        );
        assert_eq!(
            call(
                decrypt_aes,
                &[s("k"), s("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
            ),
            "ERR runtime error: slice bounds out of range [:-19]"
        );
    }

    #[test]
    fn bcrypt_and_random_bytes() {
        let line = call(htpasswd, &[s("user"), s("pass")]);
        let hash = line.strip_prefix("user:").unwrap_or_default();
        assert!(hash.starts_with("$2a$10$") && hash.len() == 60, "{line}");
        assert!(::bcrypt::verify("pass", hash).unwrap_or(false));
        assert_eq!(call(htpasswd, &[s("a:b"), s("x")]), "invalid username: a:b");
        assert_eq!(call(rand_bytes, &[Value::Int(4)]).len(), 8);
        assert_eq!(call(rand_bytes, &[Value::Int(0)]), "");
        assert_eq!(
            call(rand_bytes, &[Value::Int(-1)]),
            "ERR runtime error: makeslice: len out of range"
        );
    }
}
