//! Runs `tests/kubectl/script.sh` with the real kubectl against a served emulator. Skipped,
//! with a message, when kubectl is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kube_emulator::Emulator;

const KUBECTL: &str = "/usr/bin/kubectl";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_script() {
    if !Path::new(KUBECTL).exists()
        && Command::new("kubectl")
            .arg("version")
            .arg("--client")
            .output()
            .is_err()
    {
        println!("skipped: kubectl is not installed");
        return;
    }
    let emu = Emulator::start().await.unwrap();
    // Inside the target directory, replaced on each run: nothing left in /tmp.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kubectl");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, emu.kubeconfig_yaml()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kubectl/script.sh");
    let run = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(script)
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", &dir)
            .current_dir(&dir)
            .output()
            .unwrap()
    });
    let out = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("script finished in time")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kubectl script failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("all steps passed"), "{stdout}");
}
