//! sprig's key and certificate functions, checked by parsing what they
//! return: key types and sizes, the CA flag, signatures, subjects, SANs and
//! validity, as sprig 3.2.3 makes them. (Go accepting these outputs is in
//! `differential.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::net::IpAddr;

use gotemplate::{Template, Value};
use serde_json::json;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::public_key::PublicKey;

/// Renders `src` against JSON `data`.
fn render(src: &str, data: serde_json::Value) -> Result<String, String> {
    Template::parse("t", src)
        .and_then(|t| t.execute(&Value::from_json(&data)))
        .map_err(|e| e.to_string())
}

/// Renders `src`, which must succeed.
fn ok(src: &str) -> String {
    render(src, json!({})).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// The PEM blocks of `text`: (type, DER).
fn blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    pem::parse_many(text)
        .expect("PEM")
        .into_iter()
        .map(|p| (p.tag().to_string(), p.contents().to_vec()))
        .collect()
}

/// The one PEM block of `text`, which must be of type `tag`.
fn block(text: &str, tag: &str) -> Vec<u8> {
    let mut all = blocks(text);
    assert_eq!(all.len(), 1, "{text}");
    let (found, der) = all.remove(0);
    assert_eq!(found, tag, "{text}");
    der
}

/// Parses DER as a certificate, for the checks below.
fn parse(der: &[u8]) -> X509Certificate<'_> {
    x509_parser::parse_x509_certificate(der).expect("X.509").1
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Validity starts now and lasts `days`.
fn assert_valid_for(cert: &X509Certificate<'_>, days: i64) {
    let (from, to) = (
        cert.validity().not_before.timestamp(),
        cert.validity().not_after.timestamp(),
    );
    assert!((now() - from).abs() < 60, "not before {from}");
    assert_eq!(to - from, days * 86_400);
}

fn rsa_bits(cert: &X509Certificate<'_>) -> usize {
    match cert.public_key().parsed().expect("public key") {
        PublicKey::RSA(k) => k.key_size(),
        other => panic!("not RSA: {other:?}"),
    }
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    cert.subject().to_string()
}

/// DNS names and IPs, in order.
fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return vec![];
    };
    san.value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(ip) => match ip.len() {
                4 => format!("IP:{}", IpAddr::from(<[u8; 4]>::try_from(*ip).unwrap())),
                _ => format!("IP:{}", IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap())),
            },
            other => format!("{other:?}"),
        })
        .collect()
}

fn key_usage(cert: &X509Certificate<'_>) -> (bool, bool, bool) {
    let ku = cert.key_usage().expect("ku").expect("key usage").value;
    (
        ku.digital_signature(),
        ku.key_encipherment(),
        ku.key_cert_sign(),
    )
}

fn subject_key_id<'a>(cert: &'a X509Certificate<'_>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        })
}

fn authority_key_id<'a>(cert: &'a X509Certificate<'_>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref(),
            _ => None,
        })
        .map(|id| id.0)
}

/// Renders `$c := EXPR` and returns `.Cert` and `.Key`.
fn cert_and_key(setup: &str, expr: &str) -> (String, String) {
    let out = ok(&format!(
        "{setup}{{% $c := {expr} %}}{{% $c.Cert %}}|{{% $c.Key %}}"
    ));
    let (cert, key) = out.split_once('|').expect("two parts");
    (cert.to_string(), key.to_string())
}

#[test]
fn gen_private_key_rsa_is_4096_bit_pkcs1() {
    let der = block(&ok(r#"{% genPrivateKey "rsa" %}"#), "RSA PRIVATE KEY");
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::PrivateKey::from_pkcs1_der(&der).expect("PKCS#1");
    assert_eq!(key.n().bit_width(), 4096);
}

#[test]
fn gen_private_key_ecdsa_is_p256_sec1_and_ed25519_is_pkcs8() {
    let der = block(&ok(r#"{% genPrivateKey "ecdsa" %}"#), "EC PRIVATE KEY");
    let key = sec1::EcPrivateKey::try_from(der.as_slice()).expect("SEC1");
    let p256 = pkcs8::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    assert_eq!(key.parameters.and_then(|p| p.named_curve()), Some(p256));
    assert_eq!(key.private_key.len(), 32);
    assert_eq!(key.public_key.map(<[u8]>::len), Some(65));

    let der = block(&ok(r#"{% genPrivateKey "ed25519" %}"#), "PRIVATE KEY");
    // PKCS#8 v1 with the Ed25519 OID and a 32-byte seed, as Go writes it.
    assert_eq!(der.len(), 48);
    assert_eq!(der[..16], hex("302e020100300506032b657004220420"));
    assert_eq!(ok(r#"{% genPrivateKey "nope" %}"#), "Unknown type nope");
}

#[test]
fn gen_private_key_dsa_is_l2048_n256() {
    let der = block(&ok(r#"{% genPrivateKey "dsa" %}"#), "DSA PRIVATE KEY");
    use pkcs8::der::Decode;
    let ints = Vec::<pkcs8::der::asn1::UintRef<'_>>::from_der(&der).expect("DSA");
    let n: Vec<num_bigint::BigUint> = ints
        .iter()
        .map(|i| num_bigint::BigUint::from_bytes_be(i.as_bytes()))
        .collect();
    let [version, p, q, g, y, x] = &n[..] else {
        panic!("6 integers")
    };
    assert_eq!(version.bits(), 0);
    assert_eq!((p.bits(), q.bits()), (2048, 256));
    assert_eq!(&g.modpow(x, p), y, "y = g^x mod p");
    assert_eq!(
        g.modpow(q, p),
        num_bigint::BigUint::from(1u8),
        "g has order q"
    );
}

#[test]
fn gen_ca_is_a_self_signed_2048_bit_rsa_ca() {
    let (cert, key) = cert_and_key("", r#"genCA "my-ca" 365"#);
    let der = block(&cert, "CERTIFICATE");
    block(&key, "RSA PRIVATE KEY");
    let ca = parse(&der);
    assert!(ca.is_ca());
    assert_eq!(common_name(&ca), "CN=my-ca");
    assert_eq!(ca.issuer().as_raw(), ca.subject().as_raw());
    ca.verify_signature(None).expect("self-signed");
    assert_eq!(rsa_bits(&ca), 2048);
    assert_eq!(key_usage(&ca), (true, true, true));
    assert_valid_for(&ca, 365);
    assert!(subject_key_id(&ca).is_some());
    assert!(ca.serial.bits() <= 128, "a 128-bit serial");
}

#[test]
fn gen_signed_cert_is_signed_by_the_ca_with_sans_and_validity() {
    let out = ok(
        r#"{% $ca := genCA "my-ca" 365 %}{% $c := genSignedCert "client" (list "10.0.0.1" "::1" "::ffff:1.2.3.4") (list "a.com" "b.com") 30 $ca %}{% $ca.Cert %}{% $c.Cert %}{% $c.Key %}"#,
    );
    let all = blocks(&out);
    let tags: Vec<&str> = all.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tags, ["CERTIFICATE", "CERTIFICATE", "RSA PRIVATE KEY"]);
    let (ca, leaf) = (parse(&all[0].1), parse(&all[1].1));
    assert!(!leaf.is_ca());
    let bc = leaf
        .basic_constraints()
        .expect("bc")
        .expect("basic constraints");
    assert!(bc.critical && !bc.value.ca);
    assert_eq!(common_name(&leaf), "CN=client");
    assert_eq!(leaf.issuer().as_raw(), ca.subject().as_raw());
    leaf.verify_signature(Some(ca.public_key()))
        .expect("signed by the CA");
    assert!(leaf.verify_signature(None).is_err(), "not self-signed");
    assert_eq!(authority_key_id(&leaf), subject_key_id(&ca));
    assert_eq!(rsa_bits(&leaf), 2048);
    assert_eq!(key_usage(&leaf), (true, true, false));
    let eku = leaf.extended_key_usage().expect("eku").expect("eku").value;
    assert!(eku.server_auth && eku.client_auth);
    assert_eq!(
        sans(&leaf),
        [
            "DNS:a.com",
            "DNS:b.com",
            "IP:10.0.0.1",
            "IP:::1",
            "IP:1.2.3.4"
        ]
    );
    assert_valid_for(&leaf, 30);
}

#[test]
fn self_signed_certs_for_given_keys_use_those_keys() {
    for kind in ["ecdsa", "ed25519"] {
        let setup = format!(r#"{{% $k := genPrivateKey "{kind}" %}}"#);
        let (cert, key) = cert_and_key(
            &setup,
            r#"genSelfSignedCertWithKey "" (list "127.0.0.1") (list "svc.local") 7 $k"#,
        );
        let leaf_der = block(&cert, "CERTIFICATE");
        let leaf = parse(&leaf_der);
        leaf.verify_signature(None).expect("self-signed");
        assert_eq!(
            common_name(&leaf),
            "",
            "an empty CN leaves the subject empty"
        );
        assert_eq!(sans(&leaf), ["DNS:svc.local", "IP:127.0.0.1"]);
        let san = leaf.subject_alternative_name().expect("san").expect("san");
        assert!(san.critical, "SANs are critical when the subject is empty");
        assert_valid_for(&leaf, 7);
        // The key comes back in sprig's form, which is what was given.
        let given = ok(&format!("{setup}{{% $k %}}"));
        assert!(key.starts_with(given.lines().next().unwrap_or_default()));
        let same = ok(&format!(
            "{setup}{{% eq $k (genSelfSignedCertWithKey \"x\" nil nil 1 $k).Key %}}"
        ));
        assert_eq!(same, "true", "{kind}");
    }
}

#[test]
fn ca_with_a_given_ecdsa_key_signs_leaf_certificates() {
    let out = ok(
        r#"{% $k := genPrivateKey "ecdsa" %}{% $ca := genCAWithKey "ec-ca" 10 $k %}{% $ed := genPrivateKey "ed25519" %}{% $c := genSignedCertWithKey "leaf" nil (list "x") 5 $ca $ed %}{% $ca.Cert %}{% $c.Cert %}"#,
    );
    let all = blocks(&out);
    let (ca, leaf) = (parse(&all[0].1), parse(&all[1].1));
    assert!(ca.is_ca());
    assert_eq!(key_usage(&ca), (true, true, true));
    ca.verify_signature(None).expect("self-signed");
    leaf.verify_signature(Some(ca.public_key()))
        .expect("signed by the EC CA");
    assert!(
        matches!(leaf.public_key().parsed(), Ok(PublicKey::Unknown(_)))
            || leaf.public_key().algorithm.algorithm.to_id_string() == "1.3.101.112"
    );
    assert_valid_for(&leaf, 5);
}

/// A socket that issues each plug a client certificate signed by a CA
/// it keeps as data (base64 in a Secret, as `genCA` once made it).
#[test]
fn socket_issues_per_plug_client_certs_from_a_stored_ca() {
    let ca = ok(r#"{% $ca := genCA "db-ca" 3650 %}{% toJson $ca %}"#);
    let ca: serde_json::Value = serde_json::from_str(&ca).expect("toJson");
    let (ca_cert, ca_key) = (ca["Cert"].as_str().unwrap(), ca["Key"].as_str().unwrap());
    let template = r#"{% $ca := buildCustomCert .secret.caCrt .secret.caKey -%}
{% $c := genSignedCert .plug.name nil (list (printf "%s.%s.svc" .plug.name .plug.namespace)) 90 $ca -%}
tls.crt: {% $c.Cert | b64enc %}
tls.key: {% $c.Key | b64enc %}
ca.crt: {% $ca.Cert | b64enc %}
"#;
    let b64 = |s: &str| {
        ok(&format!(
            "{{% b64enc {} %}}",
            serde_json::to_string(s).unwrap()
        ))
    };
    let ca_der = block(ca_cert, "CERTIFICATE");
    let ca_parsed = parse(&ca_der);
    for (name, namespace) in [("orders", "app"), ("billing", "pay")] {
        let data = json!({
            "secret": {"caCrt": b64(ca_cert), "caKey": b64(ca_key)},
            "plug": {"name": name, "namespace": namespace},
        });
        let out = render(template, data).expect("renders");
        assert!(!out.contains(&b64(ca_key)), "the CA key stays out");
        let fields: std::collections::BTreeMap<&str, String> = out
            .lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k, decode(v)))
            .collect();
        assert_eq!(fields["ca.crt"], ca_cert);
        block(&fields["tls.key"], "RSA PRIVATE KEY");
        let leaf_der = block(&fields["tls.crt"], "CERTIFICATE");
        let leaf = parse(&leaf_der);
        assert_eq!(common_name(&leaf), format!("CN={name}"));
        assert_eq!(sans(&leaf), [format!("DNS:{name}.{namespace}.svc")]);
        leaf.verify_signature(Some(ca_parsed.public_key()))
            .expect("signed by the stored CA");
        assert_eq!(leaf.issuer().as_raw(), ca_parsed.subject().as_raw());
        let eku = leaf.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth);
        assert_valid_for(&leaf, 90);
    }
}

fn decode(b64: &str) -> String {
    ok(&format!("{{% b64dec {:?} %}}", b64.trim()))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn build_custom_cert_keeps_its_input_and_checks_it_as_sprig_does() {
    let same = ok(
        r#"{% $ca := genCA "ca" 3 %}{% $c := buildCustomCert (b64enc $ca.Cert) (b64enc $ca.Key) %}{% and (eq $c.Cert $ca.Cert) (eq $c.Key $ca.Key) %}"#,
    );
    assert_eq!(same, "true");
    let cases = [
        (
            r#"buildCustomCert "!!" "!!""#,
            "unable to decode base64 certificate",
        ),
        (
            r#"buildCustomCert (b64enc "junk") "x""#,
            "unable to decode certificate",
        ),
        (
            r#"buildCustomCert (b64enc $ca.Cert) "!!""#,
            "unable to decode base64 private key",
        ),
        (
            r#"buildCustomCert (b64enc $ca.Cert) (b64enc "secret-junk")"#,
            "error parsing private key: no PEM data in input",
        ),
    ];
    for (expr, want) in cases {
        let err = render(
            &format!(r#"{{% $ca := genCA "ca" 1 %}}{{% {expr} %}}"#),
            json!({}),
        )
        .unwrap_err();
        assert!(
            err.ends_with(&format!("error calling buildCustomCert: {want}")),
            "{err}"
        );
    }
}

#[test]
fn bad_arguments_fail_naming_the_function_and_argument() {
    let cases = [
        (
            r#"genPrivateKey "rsa" 8192"#,
            "wrong number of args for genPrivateKey: want 1 got 2",
        ),
        (
            r#"genCA "x" 1000000"#,
            "error calling genCA: genCA: daysValid 1000000 is out of range",
        ),
        (
            r#"genSelfSignedCert "x" (list "10.0.0.300") nil 1"#,
            "error calling genSelfSignedCert: error parsing ip: 10.0.0.300",
        ),
        (
            r#"genSelfSignedCert "x" (list 5) nil 1"#,
            "error parsing ip: 5 is not a string",
        ),
        (
            r#"genSelfSignedCert "x" nil (list "a" 7) 1"#,
            "error processing alternate dns name: 7 is not a string",
        ),
        (
            r#"genSelfSignedCert "x" nil (list "ü.com") 1"#,
            r#"x509: "ü.com" cannot be encoded as an IA5String"#,
        ),
        (
            r#"genSignedCert "x" nil nil 1 (dict "Cert" "a" "Key" "b")"#,
            "expected sprig.certificate; got map[string]interface {}",
        ),
        (
            r#"genCAWithKey "x" 1 "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n""#,
            "parsing private key: no private key data in PEM block of type FOO",
        ),
        (
            r#"genSignedCert "x" nil nil 1 (buildCustomCert (b64enc (genCA "a" 1).Cert) (b64enc (genPrivateKey "ecdsa")))"#,
            "x509: provided PrivateKey doesn't match parent's PublicKey",
        ),
        (
            r#"(genCA "x" 1).Foo"#,
            "can't evaluate field Foo in type sprig.certificate",
        ),
    ];
    for (expr, want) in cases {
        let err = render(&format!("{{% {expr} %}}"), json!({})).unwrap_err();
        assert!(err.contains(want), "{expr}: {err}");
    }
}

#[test]
fn errors_never_quote_a_private_key() {
    let key = "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END RSA PRIVATE KEY-----\n";
    for src in [
        "{% genCAWithKey \"x\" 1 .key %}",
        "{% buildCustomCert (b64enc (genCA \"a\" 1).Cert) (b64enc .key) %}",
    ] {
        let err = render(src, json!({"key": key})).unwrap_err();
        assert!(!err.contains("c2VjcmV0"), "{err}");
    }
    // Debug output of a certificate value leaves the key out too.
    let cert = gotemplate::value::Certificate {
        cert: "-----BEGIN CERTIFICATE-----".into(),
        key: key.into(),
    };
    let shown = format!("{:?}", Value::Cert(std::rc::Rc::new(cert)));
    assert!(
        shown.contains("BEGIN CERTIFICATE") && !shown.contains("c2VjcmV0"),
        "{shown}"
    );
}

#[test]
fn certificate_objects_print_and_encode_as_go_structs() {
    let out = ok(
        r#"{% $c := genCA "x" 1 %}{% typeOf $c %}|{% kindOf $c %}|{% printf "%v" $c | trunc 12 %}|{% printf "%+v" $c | trunc 10 %}|{% printf "%#v" $c | trunc 24 %}|{% toJson $c | trunc 9 %}|{% empty $c %}|{% if $c %}t{% end %}|{% eq $c $c %}"#,
    );
    assert_eq!(
        out,
        "sprig.certificate|struct|{-----BEGIN |{Cert:----|sprig.certificate{Cert:\"|{\"Cert\":\"|false|t|true"
    );
    let json = ok(r#"{% $c := genCA "x" 1 %}{% toJson $c %}"#);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Cert", "Key"]);
}

#[test]
fn aes_round_trips_through_templates() {
    for text in [
        "x",
        "sixteen bytes!!!",
        "ünïcödé and more than one block of text",
    ] {
        let data = json!({"t": text});
        let out = render(r#"{% decryptAES "k3y" (encryptAES "k3y" .t) %}"#, data).unwrap();
        assert_eq!(out, text);
    }
}

#[test]
fn slow_functions_share_a_budget_per_render() {
    // Ed25519 keys are the cheapest slow call (1 unit of 10,000).
    let src = r#"{% range until 10001 %}{% $k := genPrivateKey "ed25519" %}{% end %}"#;
    let err = render(src, json!({})).unwrap_err();
    assert!(
        err.contains("error calling genPrivateKey: genPrivateKey: this template has used up its budget for slow functions"),
        "{err}"
    );
    // Each render has its own.
    let src = r#"{% range until 5000 %}{% $k := genPrivateKey "ed25519" %}{% end %}ok"#;
    let t = Template::parse("t", src).unwrap();
    for _ in 0..3 {
        assert_eq!(t.execute(&Value::Nil).unwrap(), "ok");
    }
}
