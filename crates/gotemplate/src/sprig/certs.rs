//! sprig's key and certificate functions: `genPrivateKey`,
//! `buildCustomCert`, `genCA`, `genSelfSignedCert` and `genSignedCert`
//! (each also `...WithKey`). Certificates carry what sprig 3.2.3 (Go 1.19)
//! puts in them: a random 128-bit serial, the common name as the whole
//! subject, validity from now for `daysValid` days, key usage digital
//! signature + key encipherment (+ certificate signing for a CA), extended
//! key usage server + client auth, basic constraints, DNS names then IPs as
//! SANs, and the CA's subject key identifier as authority key identifier.

use std::net::IpAddr;
use std::rc::Rc;

use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyIdMethod, SanType};
use sha1::Digest;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;

use super::args::{arity, int, string, wrong_type};
use super::encoding::base64_decode;
use super::keys::{CERT_RSA_BITS, PrivateKey, pem_block};
use crate::cost;
use crate::value::{Certificate, Value};

/// The most days a certificate may be valid for: Go adds `daysValid` days
/// as a `time.Duration`, which wraps around past this (±292 years).
const MAX_DAYS: i64 = 106_751;

/// `genPrivateKey TYPE`: a new `rsa` (4096 bits), `ecdsa` (P-256),
/// `ed25519` or `dsa` key in PEM, or sprig's message for another type.
pub(super) fn gen_private_key(args: &[Value]) -> Result<Value, String> {
    arity("genPrivateKey", args, 1)?;
    let kind = string(&args[0])?;
    match PrivateKey::generate(kind)? {
        Some(key) => key.pem().map(Value::from),
        None => Ok(Value::from(format!("Unknown type {kind}"))),
    }
}

/// `buildCustomCert BASE64CERT BASE64KEY`: a certificate object from
/// existing PEM (typically a CA kept in a Secret), checked as sprig checks
/// it and kept verbatim.
pub(super) fn build_custom_cert(args: &[Value]) -> Result<Value, String> {
    arity("buildCustomCert", args, 2)?;
    let (cert, key) = (string(&args[0])?, string(&args[1])?);
    let cert = base64_decode(cert).map_err(|_| "unable to decode base64 certificate")?;
    let block = pem::parse(&cert).map_err(|_| "unable to decode certificate")?;
    x509_parser::parse_x509_certificate(block.contents())
        .map_err(|e| format!("error parsing certificate: decodedCert.Bytes: {e}"))?;
    let key = base64_decode(key).map_err(|_| "unable to decode base64 private key")?;
    let key = super::args::from_bytes(key);
    PrivateKey::parse_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(certificate(super::args::from_bytes(cert), key))
}

/// `genCA CN DAYS`: a self-signed CA with a new 2048-bit RSA key.
pub(super) fn gen_ca(args: &[Value]) -> Result<Value, String> {
    let req = Request::ca("genCA", args, 2)?;
    let key = PrivateKey::generate_rsa(req.function, CERT_RSA_BITS)?;
    req.issue(&key, None)
}

/// `genCAWithKey CN DAYS KEY`: a self-signed CA for a given PEM key.
pub(super) fn gen_ca_with_key(args: &[Value]) -> Result<Value, String> {
    let req = Request::ca("genCAWithKey", args, 3)?;
    req.issue(&given_key(&args[2])?, None)
}

/// `genSelfSignedCert CN IPS DNSNAMES DAYS`: a self-signed leaf
/// certificate with a new 2048-bit RSA key.
pub(super) fn gen_self_signed_cert(args: &[Value]) -> Result<Value, String> {
    let req = Request::leaf("genSelfSignedCert", args, 4)?;
    let key = PrivateKey::generate_rsa(req.function, CERT_RSA_BITS)?;
    req.issue(&key, None)
}

/// `genSelfSignedCertWithKey CN IPS DNSNAMES DAYS KEY`.
pub(super) fn gen_self_signed_cert_with_key(args: &[Value]) -> Result<Value, String> {
    let req = Request::leaf("genSelfSignedCertWithKey", args, 5)?;
    req.issue(&given_key(&args[4])?, None)
}

/// `genSignedCert CN IPS DNSNAMES DAYS CA`: a leaf certificate with a new
/// 2048-bit RSA key, signed by the CA object.
pub(super) fn gen_signed_cert(args: &[Value]) -> Result<Value, String> {
    let req = Request::leaf("genSignedCert", args, 5)?;
    let ca = Issuer::from_value(&args[4])?;
    let key = PrivateKey::generate_rsa(req.function, CERT_RSA_BITS)?;
    req.issue(&key, Some(&ca))
}

/// `genSignedCertWithKey CN IPS DNSNAMES DAYS CA KEY`.
pub(super) fn gen_signed_cert_with_key(args: &[Value]) -> Result<Value, String> {
    let req = Request::leaf("genSignedCertWithKey", args, 6)?;
    let ca = Issuer::from_value(&args[4])?;
    req.issue(&given_key(&args[5])?, Some(&ca))
}

/// sprig's `certificate` value.
fn certificate(cert: String, key: String) -> Value {
    Value::Cert(Rc::new(Certificate { cert, key }))
}

/// The PEM key argument of a `...WithKey` function.
fn given_key(v: &Value) -> Result<PrivateKey, String> {
    PrivateKey::parse_pem(string(v)?).map_err(|e| format!("parsing private key: {e}"))
}

/// What a template asked for, checked before any slow work.
struct Request {
    function: &'static str,
    cn: String,
    ips: Vec<IpAddr>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

impl Request {
    /// `CN DAYS ...` of `genCA` and `genCAWithKey`.
    fn ca(function: &'static str, args: &[Value], want: usize) -> Result<Request, String> {
        arity(function, args, want)?;
        Request::new(function, &args[0], &[], &[], &args[1], true)
    }

    /// `CN IPS DNSNAMES DAYS ...` of the leaf functions.
    fn leaf(function: &'static str, args: &[Value], want: usize) -> Result<Request, String> {
        arity(function, args, want)?;
        let (ips, dns) = (list(&args[1])?, list(&args[2])?);
        Request::new(function, &args[0], ips, dns, &args[3], false)
    }

    fn new(
        function: &'static str,
        cn: &Value,
        ips: &[Value],
        dns: &[Value],
        days: &Value,
        is_ca: bool,
    ) -> Result<Request, String> {
        let cn = string(cn)?.to_string();
        let days = int(days)?;
        let ips = ips.iter().map(parse_ip).collect::<Result<_, _>>()?;
        let dns = dns.iter().map(dns_name).collect::<Result<_, _>>()?;
        if !(-MAX_DAYS..=MAX_DAYS).contains(&days) {
            return Err(format!(
                "{function}: daysValid {days} is out of range: at most {MAX_DAYS} days \
                 (Go's time.Duration) either way"
            ));
        }
        Ok(Request {
            function,
            cn,
            ips,
            dns,
            days,
            is_ca,
        })
    }

    /// The certificate for `key`, signed by `ca` or by itself.
    fn issue(&self, key: &PrivateKey, ca: Option<&Issuer>) -> Result<Value, String> {
        cost::charge(self.function, cost::CHEAP)?;
        let signer = key.signer()?;
        let params = self.params(&signer, ca)?;
        let cert = match ca {
            Some(ca) => {
                let issuer = rcgen::Issuer::new(ca.params(), &ca.key);
                let cert = params.signed_by(&signer, &issuer).map_err(creating)?;
                ca.check_issued(cert.der())?;
                cert
            }
            None => params.self_signed(&signer).map_err(creating)?,
        };
        Ok(certificate(
            pem_block("CERTIFICATE", cert.der().to_vec()),
            key.pem()?,
        ))
    }

    fn params(
        &self,
        key: &rcgen::KeyPair,
        ca: Option<&Issuer>,
    ) -> Result<CertificateParams, String> {
        use rcgen::{ExtendedKeyUsagePurpose as Eku, KeyUsagePurpose as Ku};
        let mut params = CertificateParams::default();
        let now = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .map_err(|e| e.to_string())?;
        params.not_before = now;
        params.not_after = now
            .checked_add(time::Duration::days(self.days))
            .ok_or("daysValid out of range")?;
        params.serial_number = Some(serial());
        params.distinguished_name = subject(&self.cn);
        params.key_usages = vec![Ku::DigitalSignature, Ku::KeyEncipherment];
        params.extended_key_usages = vec![Eku::ServerAuth, Eku::ClientAuth];
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        if self.is_ca {
            params.key_usages.push(Ku::KeyCertSign);
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(key.public_key_raw()));
        params.use_authority_key_identifier_extension = ca.is_some_and(|ca| ca.key_id.is_some());
        params.subject_alt_names = self.sans()?;
        Ok(params)
    }

    /// DNS names, then IPs, as Go writes them.
    fn sans(&self) -> Result<Vec<SanType>, String> {
        let dns = self.dns.iter().map(|name| {
            rcgen::string::Ia5String::try_from(name.as_str())
                .map(SanType::DnsName)
                .map_err(|_| {
                    format!("error creating certificate: x509: {name:?} cannot be encoded as an IA5String")
                })
        });
        let ips = self.ips.iter().map(|ip| Ok(SanType::IpAddress(*ip)));
        dns.chain(ips).collect()
    }
}

/// A `[]interface{}` parameter: a list, or nil for none.
fn list(v: &Value) -> Result<&[Value], String> {
    match v {
        Value::List(items) => Ok(items),
        Value::Missing | Value::Nil => Ok(&[]),
        other => Err(wrong_type("[]interface {}", other)),
    }
}

/// An IP SAN as Go's `net.ParseIP` reads it (an IPv4-mapped IPv6 address
/// is written as IPv4).
fn parse_ip(v: &Value) -> Result<IpAddr, String> {
    let Value::String(s) = v else {
        return Err(format!(
            "error parsing ip: {} is not a string",
            super::args::strval(v)
        ));
    };
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => Ok(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        Ok(ip) => Ok(ip),
        Err(_) => Err(format!("error parsing ip: {s}")),
    }
}

/// A DNS SAN, which must be a string.
fn dns_name(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.to_string()),
        other => Err(format!(
            "error processing alternate dns name: {} is not a string",
            super::args::strval(other)
        )),
    }
}

/// The subject Go writes: the common name alone (nothing when empty), as
/// a PrintableString when it can be one.
fn subject(cn: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    if !cn.is_empty() {
        let value = rcgen::string::PrintableString::try_from(cn).map_or_else(
            |_| DnValue::Utf8String(cn.to_string()),
            DnValue::PrintableString,
        );
        name.push(DnType::CommonName, value);
    }
    name
}

/// A random positive serial below 2^128, as Go's sprig draws it.
fn serial() -> rcgen::SerialNumber {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes[..]);
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(15);
    rcgen::SerialNumber::from_slice(&bytes[start..])
}

/// Go's subject key identifier: SHA-1 of the public key bits.
fn key_id(public_key: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(public_key).to_vec()
}

/// An error from certificate creation, in Go's words.
fn creating(e: rcgen::Error) -> String {
    format!("error creating certificate: {e}")
}

/// The signing side of `genSignedCert`: a CA object's key, and its subject
/// and key identifier to copy into the certificates it signs.
struct Issuer {
    key: rcgen::KeyPair,
    name: DistinguishedName,
    subject: Vec<u8>,
    key_id: Option<Vec<u8>>,
}

impl Issuer {
    /// The CA from a certificate object (sprig's `certificate` type only).
    fn from_value(v: &Value) -> Result<Issuer, String> {
        let Value::Cert(ca) = v else {
            return Err(wrong_type("sprig.certificate", v));
        };
        let block = pem::parse(&ca.cert).map_err(|_| "error decoding CA certificate")?;
        let (_, cert) = x509_parser::parse_x509_certificate(block.contents())
            .map_err(|e| format!("error parsing CA certificate: {e}"))?;
        let key = PrivateKey::parse_pem(&ca.key)
            .map_err(|e| format!("error parsing CA private key: {e}"))?
            .signer()?;
        if key.public_key_raw() != &*cert.public_key().subject_public_key.data {
            return Err(
                "error creating certificate: x509: provided PrivateKey doesn't \
                        match parent's PublicKey"
                    .into(),
            );
        }
        Ok(Issuer {
            key,
            name: distinguished_name(&cert)?,
            subject: cert.subject().as_raw().to_vec(),
            key_id: subject_key_id(&cert),
        })
    }

    /// The parts of the CA rcgen copies into what it signs.
    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = self.name.clone();
        params.key_identifier_method =
            KeyIdMethod::PreSpecified(self.key_id.clone().unwrap_or_default());
        params
    }

    /// Fails unless `der` names the CA's subject byte for byte, which is
    /// how verifiers (Go's among them) link a certificate to its issuer.
    fn check_issued(&self, der: &[u8]) -> Result<(), String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
        if cert.issuer().as_raw() == self.subject.as_slice() {
            Ok(())
        } else {
            Err(UNSUPPORTED_NAME.into())
        }
    }
}

const UNSUPPORTED_NAME: &str = "error creating certificate: the CA's subject cannot be \
                                copied exactly (multi-valued or repeated attributes)";

/// The CA's subject as rcgen writes names: one attribute per RDN, each
/// type once, string types kept.
fn distinguished_name(cert: &X509Certificate<'_>) -> Result<DistinguishedName, String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let mut name = DistinguishedName::new();
    for rdn in cert.subject().iter() {
        let mut attrs = rdn.iter();
        let (Some(attr), None) = (attrs.next(), attrs.next()) else {
            return Err(UNSUPPORTED_NAME.into());
        };
        let oid: Vec<u64> = attr.attr_type().iter().ok_or(UNSUPPORTED_NAME)?.collect();
        let ty = DnType::from_oid(&oid);
        let data = attr.attr_value().data;
        let text = std::str::from_utf8(data).map_err(|_| UNSUPPORTED_NAME)?;
        let unsupported = |_| UNSUPPORTED_NAME.to_string();
        let value = match attr.attr_value().header.tag() {
            Tag::PrintableString => DnValue::PrintableString(text.try_into().map_err(unsupported)?),
            Tag::Utf8String => DnValue::Utf8String(text.to_string()),
            Tag::Ia5String => DnValue::Ia5String(text.try_into().map_err(unsupported)?),
            Tag::T61String => DnValue::TeletexString(text.try_into().map_err(unsupported)?),
            _ => return Err(UNSUPPORTED_NAME.into()),
        };
        if name.get(&ty).is_some() {
            return Err(UNSUPPORTED_NAME.into());
        }
        name.push(ty, value);
    }
    Ok(name)
}

/// The CA's subject key identifier, if it has one.
fn subject_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
}
