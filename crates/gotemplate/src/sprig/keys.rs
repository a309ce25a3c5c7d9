//! Private keys for sprig's certificate functions: generation with sprig
//! 3.2.3's algorithms and sizes, parsing of the PEM keys templates pass to
//! the `...WithKey` functions and `buildCustomCert`, and the PEM blocks
//! sprig writes (PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for Ed25519 and
//! OpenSSL's format for DSA).

use pkcs8::der::asn1::{OctetStringRef, UintRef};
use pkcs8::der::{Decode, Encode};
use pkcs8::{ObjectIdentifier, PrivateKeyInfoRef};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};

use crate::cost;

/// sprig's RSA size for `genPrivateKey "rsa"`.
const RSA_BITS: usize = 4096;
/// sprig's RSA size for the keys of `genCA` and its kin.
pub(super) const CERT_RSA_BITS: usize = 2048;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// What Go says when a DSA key is asked to sign a certificate.
const DSA_CANNOT_SIGN: &str =
    "error creating certificate: x509: certificate private key does not implement crypto.Signer";

/// A private key of one of the types sprig handles.
pub(super) enum PrivateKey {
    Rsa(Box<rsa::PrivateKey>),
    /// SEC1 `ECPrivateKey` DER, with the curve named in its parameters.
    Ec {
        curve: ObjectIdentifier,
        sec1: Vec<u8>,
    },
    /// The 32-byte seed.
    Ed25519([u8; 32]),
    /// OpenSSL's `DSAPrivateKey` DER.
    Dsa(Vec<u8>),
}

impl PrivateKey {
    /// A new key for `genPrivateKey TYPE`, or `None` for a type sprig does
    /// not know. Charges the render's budget before the slow part.
    pub(super) fn generate(kind: &str) -> Result<Option<PrivateKey>, String> {
        let function = "genPrivateKey";
        Ok(Some(match kind {
            "rsa" => PrivateKey::generate_rsa(function, RSA_BITS)?,
            "ecdsa" => PrivateKey::generate_ring(function, &rcgen::PKCS_ECDSA_P256_SHA256)?,
            "ed25519" => PrivateKey::generate_ring(function, &rcgen::PKCS_ED25519)?,
            "dsa" => PrivateKey::generate_dsa(function)?,
            _ => return Ok(None),
        }))
    }

    /// A new RSA key of `bits` (sprig's sizes only: 2048 or 4096).
    pub(super) fn generate_rsa(function: &str, bits: usize) -> Result<PrivateKey, String> {
        cost::charge(function, cost::rsa_keygen(bits))?;
        rsa::PrivateKey::new(&mut rand::rng(), bits)
            .map(|k| PrivateKey::Rsa(Box::new(k)))
            .map_err(|e| format!("failed to generate private key: {e}"))
    }

    /// A new ECDSA P-256 or Ed25519 key, made by ring.
    fn generate_ring(
        function: &str,
        alg: &'static rcgen::SignatureAlgorithm,
    ) -> Result<PrivateKey, String> {
        cost::charge(function, cost::CHEAP)?;
        let pair = rcgen::KeyPair::generate_for(alg)
            .map_err(|e| format!("failed to generate private key: {e}"))?;
        PrivateKey::from_pkcs8(&pair.serialize_der())
            .map_err(|e| format!("failed to generate private key: {e}"))
    }

    /// A new DSA key with fresh L=2048, N=256 parameters, as sprig makes.
    fn generate_dsa(function: &str) -> Result<PrivateKey, String> {
        cost::charge(function, cost::DSA_KEYGEN)?;
        let fail = |e: &dyn std::fmt::Display| format!("failed to generate private key: {e}");
        let rng = &mut rand::rng();
        let components =
            dsa::Components::try_generate_from_rng_with_key_size(rng, dsa::KeySize::DSA_2048_256)
                .map_err(|e| fail(&e))?;
        let key = dsa::SigningKey::try_generate_from_rng_with_components(rng, components)
            .map_err(|e| fail(&e))?;
        let public = key.verifying_key();
        let numbers = [
            public.components().p().to_be_bytes(),
            public.components().q().to_be_bytes(),
            public.components().g().to_be_bytes(),
            public.y().to_be_bytes(),
            key.x().to_be_bytes(),
        ];
        let mut fields = vec![UintRef::new(&[0]).map_err(|e| fail(&e))?];
        for n in &numbers {
            fields.push(UintRef::new(n).map_err(|e| fail(&e))?);
        }
        fields.to_der().map(PrivateKey::Dsa).map_err(|e| fail(&e))
    }

    /// Parses a PEM private key as sprig does: the first PEM block, by its
    /// type. Messages never quote the key.
    pub(super) fn parse_pem(text: &str) -> Result<PrivateKey, String> {
        let block = pem::parse(text).map_err(|_| "no PEM data in input".to_string())?;
        let der = block.contents();
        match block.tag() {
            "RSA PRIVATE KEY" => rsa::PrivateKey::from_pkcs1_der(der)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
            "EC PRIVATE KEY" => PrivateKey::from_sec1(der, None)
                .map_err(|e| format!("parsing EC private key from PEM: {e}")),
            "PRIVATE KEY" => {
                PrivateKey::from_pkcs8(der).map_err(|e| format!("decoding PEM as PKCS#8: {e}"))
            }
            "DSA PRIVATE KEY" => match Vec::<UintRef<'_>>::from_der(der) {
                Ok(fields) if fields.len() == 6 => Ok(PrivateKey::Dsa(der.to_vec())),
                Ok(_) => Err("parsing DSA private key from PEM: not 6 integers".into()),
                Err(e) => Err(format!("parsing DSA private key from PEM: {e}")),
            },
            other => Err(format!("no private key data in PEM block of type {other}")),
        }
    }

    /// A PKCS#8 key of one of the algorithms Go's x509 parses.
    fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, String> {
        let info = PrivateKeyInfoRef::from_der(der).map_err(|e| e.to_string())?;
        let inner = info.private_key.as_bytes();
        match info.algorithm.oid {
            RSA_ENCRYPTION => rsa::PrivateKey::from_pkcs8_der(der)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| e.to_string()),
            EC_PUBLIC_KEY => {
                let curve = info
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                PrivateKey::from_sec1(inner, curve)
            }
            ED25519 => {
                let seed = <&OctetStringRef>::from_der(inner).map_err(|e| e.to_string())?;
                seed.as_bytes()
                    .try_into()
                    .map(PrivateKey::Ed25519)
                    .map_err(|_| "invalid Ed25519 private key length".to_string())
            }
            other => Err(format!("unknown private key algorithm {other}")),
        }
    }

    /// A SEC1 key; its curve is named inside it or by the PKCS#8 wrapper.
    fn from_sec1(der: &[u8], curve: Option<ObjectIdentifier>) -> Result<PrivateKey, String> {
        let mut key = sec1::EcPrivateKey::from_der(der).map_err(|e| e.to_string())?;
        let curve = key
            .parameters
            .and_then(|p| p.named_curve())
            .or(curve)
            .ok_or("the key does not name its curve")?;
        key.parameters = Some(sec1::EcParameters::NamedCurve(curve));
        let sec1 = key.to_der().map_err(|e| e.to_string())?;
        Ok(PrivateKey::Ec { curve, sec1 })
    }

    /// The PEM block sprig writes for this key.
    pub(super) fn pem(&self) -> Result<String, String> {
        let (tag, der) = match self {
            PrivateKey::Rsa(k) => (
                "RSA PRIVATE KEY",
                k.to_pkcs1_der()
                    .map(|d| d.as_bytes().to_vec())
                    .map_err(|e| e.to_string()),
            ),
            PrivateKey::Ec { sec1, .. } => ("EC PRIVATE KEY", Ok(sec1.clone())),
            PrivateKey::Ed25519(seed) => (
                "PRIVATE KEY",
                ed25519_pkcs8(seed).map_err(|e| e.to_string()),
            ),
            PrivateKey::Dsa(der) => ("DSA PRIVATE KEY", Ok(der.clone())),
        };
        let der = der.map_err(|e| format!("failed to encode private key: {e}"))?;
        Ok(pem_block(tag, der))
    }

    /// The key as rcgen signs with it: PKCS#8 for ring, with the signature
    /// algorithm Go picks (SHA-256 for RSA, the curve's hash for ECDSA).
    pub(super) fn signer(&self) -> Result<rcgen::KeyPair, String> {
        let (pkcs8, alg) = match self {
            PrivateKey::Rsa(k) => (
                k.to_pkcs8_der()
                    .map(|d| d.as_bytes().to_vec())
                    .map_err(|e| e.to_string())?,
                &rcgen::PKCS_RSA_SHA256,
            ),
            PrivateKey::Ec { curve, sec1 } => (ec_pkcs8(*curve, sec1)?, ec_algorithm(*curve)?),
            PrivateKey::Ed25519(seed) => (
                ed25519_pkcs8(seed).map_err(|e| e.to_string())?,
                &rcgen::PKCS_ED25519,
            ),
            PrivateKey::Dsa(_) => return Err(DSA_CANNOT_SIGN.into()),
        };
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.into(), alg)
            .map_err(|e| format!("error creating certificate: {e}"))
    }
}

/// The ECDSA signature algorithm Go uses with a curve's keys.
fn ec_algorithm(curve: ObjectIdentifier) -> Result<&'static rcgen::SignatureAlgorithm, String> {
    match curve {
        P256 => Ok(&rcgen::PKCS_ECDSA_P256_SHA256),
        P384 => Ok(&rcgen::PKCS_ECDSA_P384_SHA384),
        other => Err(format!(
            "error creating certificate: ECDSA curve {other} is not supported (P-256 and P-384 are)"
        )),
    }
}

/// A SEC1 key wrapped in PKCS#8 the way Go and OpenSSL write it: the curve
/// in the algorithm, not repeated inside.
fn ec_pkcs8(curve: ObjectIdentifier, sec1: &[u8]) -> Result<Vec<u8>, String> {
    let mut inner = sec1::EcPrivateKey::from_der(sec1).map_err(|e| e.to_string())?;
    inner.parameters = None;
    let inner = inner.to_der().map_err(|e| e.to_string())?;
    let curve = pkcs8::der::asn1::AnyRef::from(&curve);
    let algorithm = pkcs8::AlgorithmIdentifierRef {
        oid: EC_PUBLIC_KEY,
        parameters: Some(curve),
    };
    let octets = OctetStringRef::new(&inner).map_err(|e| e.to_string())?;
    PrivateKeyInfoRef::new(algorithm, octets)
        .to_der()
        .map_err(|e| e.to_string())
}

/// PKCS#8 v1 for an Ed25519 seed, as Go's `MarshalPKCS8PrivateKey` writes.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Result<Vec<u8>, pkcs8::der::Error> {
    let inner = OctetStringRef::new(seed)?.to_der()?;
    let algorithm = pkcs8::AlgorithmIdentifierRef {
        oid: ED25519,
        parameters: None,
    };
    PrivateKeyInfoRef::new(algorithm, OctetStringRef::new(&inner)?).to_der()
}

/// A PEM block as Go's `pem.EncodeToMemory` writes it: 64-column lines,
/// `\n` line ends.
pub(super) fn pem_block(tag: &str, der: Vec<u8>) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(tag, der), config)
}
