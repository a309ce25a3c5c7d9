//! Differential testing against Go itself: generated templates rendered by
//! this engine and by Go text/template + sprig (tools/go-reference) must give
//! the same output, or both fail. Runs only where the Go tool is built:
//! `GO_REFERENCE=/tmp/go-reference/go-reference cargo test -p gotemplate --test differential -- --nocapture`
//! (add `DIFF_CASES=5000` for more cases, `DIFF_SEED=n` for others).

use std::io::Write;
use std::process::{Command, Stdio};

use gotemplate::{Template, Value};
use serde_json::json;

/// A small deterministic generator, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Functions whose output depends on randomness or the clock.
const NONDETERMINISTIC: &[&str] = &[
    "now",
    "ago",
    "date",
    "dateInZone",
    "date_in_zone",
    "htmlDate",
    "htmlDateInZone",
    "dateModify",
    "date_modify",
    "mustDateModify",
    "must_date_modify",
    "unixEpoch",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "randInt",
    "randBytes",
    "uuidv4",
    "shuffle",
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "buildCustomCert",
    "encryptAES",
    "getHostByName",
    "env",
    "expandenv",
    "durationRound",
    "toDate",
    "mustToDate",
];

const OPERANDS: &[&str] = &[
    ".s",
    ".n",
    ".f",
    ".big",
    ".small",
    ".neg",
    ".b",
    ".list",
    ".nums",
    ".m",
    ".m.a",
    ".nil",
    ".missing",
    ".empty",
    ".words",
    "$",
    "0",
    "1",
    "-2",
    "3",
    "10",
    "2.5",
    "1e6",
    "0x10",
    "\"\"",
    "\"a\"",
    "\"hello world\"",
    "\"a,b,c\"",
    "\"Hello_World-x y\"",
    "\"  pad  \"",
    "\"42\"",
    "\"3.7\"",
    "\"x.y/z.txt\"",
    "\"[a-z]+\"",
    "\"1.2.3\"",
    "\">= 1.0\"",
    "true",
    "false",
    "nil",
    "(list 1 \"b\" 3)",
    "(dict \"k\" \"v\" \"n\" 2)",
    "`raw`",
    "'c'",
];

fn operand(rng: &mut Rng, functions: &[&str], depth: usize) -> String {
    if depth > 0 && rng.below(4) == 0 {
        return format!("({})", call(rng, functions, depth - 1));
    }
    rng.pick(OPERANDS).to_string()
}

fn call(rng: &mut Rng, functions: &[&str], depth: usize) -> String {
    let name = rng.pick(functions);
    let args: Vec<String> = (0..rng.below(4))
        .map(|_| operand(rng, functions, depth))
        .collect();
    format!("{name} {}", args.join(" ")).trim_end().to_string()
}

fn template(rng: &mut Rng, functions: &[&str]) -> String {
    let action = match rng.below(10) {
        0 => format!(
            "{} | {}",
            operand(rng, functions, 1),
            call(rng, functions, 1)
        ),
        1 => operand(rng, functions, 1),
        2 => {
            let x = operand(rng, functions, 0);
            format!(
                "printf \"%v|%d|%s|%q|%x|%5.2f|%t|%T|%-4v|%+d|%08.3f|%e|%g\" {}",
                [x.as_str(); 13].join(" ")
            )
        }
        _ => call(rng, functions, 2),
    };
    match rng.below(6) {
        0 => format!("{{% if {action} %}}yes{{% else %}}no{{% end %}}"),
        1 => format!(
            "{{% range $i, $v := {action} %}}[{{% $i %}}={{% $v %}}]{{% else %}}empty{{% end %}}"
        ),
        2 => format!("{{% with {action} %}}<{{% . %}}>{{% end %}}"),
        _ => format!("{{% {action} %}}"),
    }
}

fn data() -> serde_json::Value {
    json!({
        "s": "hello", "n": 7, "f": 2.5, "big": 1234567, "small": 0.00001, "neg": -3, "b": true,
        "list": ["b", "a", "c", "a"], "nums": [3, 1, 2], "m": {"a": "x", "b": 2, "c": null},
        "nil": null, "empty": "", "words": "the quick brown fox",
    })
}

fn go_render(tool: &str, template: &str, data: &serde_json::Value) -> Result<String, String> {
    let mut child = Command::new(tool)
        .arg("render")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    let input = json!({"template": template, "data": data}).to_string();
    child
        .stdin
        .take()
        .map(|mut s| s.write_all(input.as_bytes()));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn generated_templates_render_as_in_go() {
    let Ok(tool) = std::env::var("GO_REFERENCE") else {
        eprintln!("skipped: set GO_REFERENCE to the tools/go-reference binary to compare with Go");
        return;
    };
    let cases: usize = std::env::var("DIFF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let seed: u64 = std::env::var("DIFF_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x5eed);
    let names = gotemplate::funcs::names();
    let functions: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !NONDETERMINISTIC.contains(n))
        .collect();
    let data = data();
    let mut rng = Rng(seed | 1);
    let mut mismatches = Vec::new();
    for _ in 0..cases {
        let src = template(&mut rng, &functions);
        // Fresh data each time: sprig's set and merge change maps in place.
        let value = Value::from_json(&data);
        let ours = Template::parse("t", &src)
            .and_then(|t| t.execute(&value))
            .map_err(|e| e.to_string());
        let go = go_render(&tool, &src, &data);
        match (&ours, &go) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(_), Err(_)) => {}
            // Go overflows its stack on a map that contains itself; we refuse
            // to build one, or print it with a cycle marker.
            (_, Err(e)) if e.contains("fatal error: stack overflow") => {}
            _ => mismatches.push(format!(
                "{src}\n    ours: {}\n    go:   {}",
                clip(&ours),
                clip(&go)
            )),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {cases} generated templates differ from Go:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// A result shortened for the report.
fn clip(result: &Result<String, String>) -> String {
    let text = format!("{result:?}");
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}

/// Runs `go-reference verify` on `input`: Go's own parsers and chain
/// verification on PEM this engine made.
fn go_verify(tool: &str, input: &serde_json::Value) -> Result<serde_json::Value, String> {
    let mut child = Command::new(tool)
        .arg("verify")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    child
        .stdin
        .take()
        .map(|mut s| s.write_all(input.to_string().as_bytes()));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// Renders with this engine; the template must succeed.
fn ours(src: &str, data: &serde_json::Value) -> String {
    Template::parse("t", src)
        .and_then(|t| t.execute(&Value::from_json(data)))
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// Keys, certificates and ciphertexts this engine makes are read by Go:
/// key types and sizes, key pairs, chains to the CA (ours, and a CA that
/// Go made and passed to us as data), and `decryptAES` of our ciphertext.
#[test]
fn keys_certificates_and_ciphertexts_are_accepted_by_go() {
    let Ok(tool) = std::env::var("GO_REFERENCE") else {
        eprintln!("skipped: set GO_REFERENCE to the tools/go-reference binary to compare with Go");
        return;
    };
    let none = json!({});
    for (kind, bits) in [
        ("rsa", 4096),
        ("ecdsa", 256),
        ("ed25519", 256),
        ("dsa", 2048),
    ] {
        let key = ours(&format!("{{% genPrivateKey \"{kind}\" %}}"), &none);
        let found =
            go_verify(&tool, &json!({"key": key})).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(found["keyType"], kind);
        assert_eq!(found["keyBits"], bits);
    }

    // A CA made by Go, kept as data, signing a client certificate here.
    let go_ca = go_render(&tool, r#"{% toJson (genCA "go-ca" 30) %}"#, &none).expect("Go genCA");
    let go_ca: serde_json::Value = serde_json::from_str(&go_ca).expect("toJson");
    let signing = [
        (
            "rsa CA",
            r#"{% $ca := genCA "our-ca" 30 %}"#.to_string(),
            none.clone(),
        ),
        (
            "ecdsa CA",
            r#"{% $ca := genCAWithKey "ec-ca" 30 (genPrivateKey "ecdsa") %}"#.to_string(),
            none.clone(),
        ),
        (
            "Go's CA",
            r#"{% $ca := buildCustomCert (b64enc .ca.Cert) (b64enc .ca.Key) %}"#.to_string(),
            json!({"ca": go_ca}),
        ),
    ];
    for (name, setup, data) in signing {
        let src = format!(
            r#"{setup}{{% $c := genSignedCert "plug" (list "10.1.2.3") (list "plug.app.svc") 7 $ca %}}{{% toJson (dict "ca" $ca.Cert "cert" $c.Cert "key" $c.Key) %}}"#
        );
        let made: serde_json::Value = serde_json::from_str(&ours(&src, &data)).expect("json");
        for dns in ["plug.app.svc", "10.1.2.3"] {
            let input = json!({"cert": made["cert"], "certKey": made["key"], "roots": made["ca"], "dns": dns, "usage": "client"});
            let found = go_verify(&tool, &input).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(found["chained"], true, "{name}");
            assert_eq!(found["subject"], "CN=plug", "{name}");
        }
    }

    // Go's buildCustomCert and genSignedCert accept our CA and its key.
    let ca = ours(r#"{% toJson (genCA "our-ca" 30) %}"#, &none);
    let ca: serde_json::Value = serde_json::from_str(&ca).expect("json");
    let src = r#"{% $ca := buildCustomCert (b64enc .ca.Cert) (b64enc .ca.Key) %}{% (genSignedCert "x" nil nil 1 $ca).Cert %}"#;
    let go_leaf = go_render(&tool, src, &json!({"ca": ca})).expect("Go signs with our CA");
    assert!(go_leaf.starts_with("-----BEGIN CERTIFICATE-----\n"));
    let found =
        go_verify(&tool, &json!({"cert": ca["Cert"], "certKey": ca["Key"]})).expect("CA pair");
    assert_eq!(found["isCA"], true);

    // Go decrypts what encryptAES wrote here.
    for text in [
        "",
        "x",
        "sixteen bytes!!!",
        "ünïcödé, longer than one block",
    ] {
        let cipher = ours(r#"{% encryptAES "s3cret" .t %}"#, &json!({"t": text}));
        let plain = go_render(
            &tool,
            r#"{% decryptAES "s3cret" .c %}"#,
            &json!({"c": cipher}),
        );
        assert_eq!(plain.as_deref(), Ok(text));
    }
}
