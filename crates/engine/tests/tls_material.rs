//! A socket that hands out TLS material (issue #17): it keeps its CA in a
//! Secret, read as `secret: true` config, and issues each plug a client
//! certificate with sprig's `buildCustomCert` + `genSignedCert`. The CA key
//! must never reach a rendered object or a message; the plug's own key
//! lands only in the Secret made for it. (The certificates themselves are
//! parsed and verified in `crates/gotemplate/tests/certs.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use integration_api::{Plug, Socket};
use integration_engine::*;
use integration_fixtures::{P0, S0, manifest};
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};

const RESOURCES: &str = r#"
- when: [coupled]
  do: apply
  stringTemplate: |
    {% $ca := buildCustomCert (b64enc .socketConfig.caCert) (b64enc .socketConfig.caKey) -%}
    {% $c := genSignedCert .plug.metadata.name nil (list (printf "%s.%s.svc" .plug.metadata.name .plug.metadata.namespace)) 90 $ca -%}
    apiVersion: v1
    kind: Secret
    metadata: {name: "client-{% .plug.metadata.name %}"}
    stringData:
      tls.crt: {% $c.Cert | toJson %}
      tls.key: {% $c.Key | toJson %}
      ca.crt: {% $ca.Cert | toJson %}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: "client-{% .plug.metadata.name %}-ca"}
    data:
      ca.crt: {% $ca.Cert | toJson %}
"#;

/// A CA as `genCA` makes it: (certificate, key).
fn new_ca() -> (String, String) {
    let out = gotemplate::render("ca", r#"{% toJson (genCA "db-ca" 3650) %}"#, &json!({})).unwrap();
    let ca: Value = serde_json::from_str(&out).unwrap();
    (
        ca["Cert"].as_str().unwrap().into(),
        ca["Key"].as_str().unwrap().into(),
    )
}

fn socket() -> Socket {
    let edits = [
        (
            "spec.interface.config.socket",
            "{host: {required: true}, caCert: {required: true}, caKey: {required: true, secret: true}}",
        ),
        ("spec.configSecretName", "db-ca"),
        ("spec.resources", RESOURCES),
    ];
    serde_json::from_value(manifest(S0, &edits)).unwrap()
}

fn sources(cert: &str, key: &str) -> Sources {
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db-ca", "namespace": "db"},
        "stringData": {"caCert": cert, "caKey": key},
    });
    let mut s = Sources::default();
    s.add_secret(&serde_json::from_value::<Secret>(secret).unwrap());
    s
}

fn string_data<'r>(r: &'r Rendered, key: &str) -> &'r str {
    let data = &r.object[if r.object["kind"] == "Secret" {
        "stringData"
    } else {
        "data"
    }];
    data[key].as_str().unwrap()
}

#[test]
fn each_plug_gets_its_own_client_certificate_and_the_ca_key_stays_secret() {
    let (ca_cert, ca_key) = new_ca();
    let s = socket();
    let src = sources(&ca_cert, &ca_key);
    let mut issued = Vec::new();
    for name in ["orders-db", "billing-db"] {
        let p: Plug = serde_json::from_value(manifest(P0, &[("metadata.name", name)])).unwrap();
        let c = Coupling::new(&p, &s).unwrap();
        let configs = c.configs(&src).unwrap();
        assert!(configs.socket.secret_keys.contains("caKey"));
        assert!(!configs.socket.without_secrets().contains_key("caKey"));
        let rendered = c
            .render_event(Side::Socket, CouplingEvent::Coupled, &configs)
            .unwrap();
        assert_eq!(rendered.len(), 2, "{rendered:#?}");
        let (secret, config_map) = (&rendered[0], &rendered[1]);
        assert_eq!(secret.object["kind"], "Secret");
        assert_eq!(secret.object["metadata"]["name"], format!("client-{name}"));
        let (cert, key) = (
            string_data(secret, "tls.crt"),
            string_data(secret, "tls.key"),
        );
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"), "{cert}");
        assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert_eq!(string_data(secret, "ca.crt"), ca_cert);
        assert_eq!(string_data(config_map, "ca.crt"), ca_cert);

        // The CA key is in no object; the plug's key only in its Secret.
        for r in &rendered {
            assert!(
                !r.object.to_string().contains(&ca_key[40..80]),
                "{}",
                r.template
            );
        }
        assert!(!config_map.object.to_string().contains(&key[40..80]));
        // And the redactor hides the CA key from any message.
        let redactor = c.redactor(&src, &[&configs.socket]);
        let shown = redactor.redact(&format!("failed with {ca_key}"));
        assert_eq!(shown, format!("failed with {REDACTED}"));
        issued.push((cert.to_string(), key.to_string()));
    }
    assert_ne!(
        issued[0], issued[1],
        "each plug has its own certificate and key"
    );
}

#[test]
fn a_broken_ca_key_fails_without_quoting_it() {
    let (ca_cert, _) = new_ca();
    let bad_key = "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4ta2V5\n-----END RSA PRIVATE KEY-----\n";
    let s = socket();
    let p: Plug = serde_json::from_value(manifest(P0, &[])).unwrap();
    let c = Coupling::new(&p, &s).unwrap();
    let src = sources(&ca_cert, bad_key);
    let configs = c.configs(&src).unwrap();
    let err = c
        .render_event(Side::Socket, CouplingEvent::Coupled, &configs)
        .unwrap_err()
        .to_string();
    assert!(err.contains("buildCustomCert"), "{err}");
    assert!(!err.contains("c2VjcmV0"), "{err}");
}
