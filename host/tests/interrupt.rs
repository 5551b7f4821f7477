//! Ctrl-C during a run leaves a valid partial run directory marked as interrupted.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn ctrl_c_saves_a_partial_run_marked_interrupted() {
    if Command::new("kill").arg("-l").output().is_err() {
        println!("skipped: no `kill` command to send SIGINT");
        return;
    }
    let out = std::env::temp_dir().join(format!("fprinciple-interrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let child = Command::new(env!("CARGO_BIN_EXE_fprinciple"))
        .args(["--out", out.to_str().unwrap(), "freq", "--steps", "1000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run has started writing, then interrupt it.
    let started = Instant::now();
    while std::fs::read_dir(&out).map_or(true, |mut d| d.next().is_none()) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(
        !output.status.success(),
        "an interrupted run exits non-zero"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");

    let runs: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs[0].join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["status"], "interrupted");
    let steps_run = summary["results"]["steps_run"].as_u64().unwrap();
    assert!(steps_run > 0 && steps_run < 1_000_000, "{steps_run}");
    let csv = std::fs::read_to_string(runs[0].join("metrics.csv")).unwrap();
    assert_eq!(
        csv.lines().count() as u64,
        1 + steps_run + 1,
        "header, steps 0..=steps_run"
    );
    assert!(runs[0].join("index.html").exists());
    std::fs::remove_dir_all(&out).unwrap();
}
