//! Ctrl-C during a run leaves a valid partial run directory marked as interrupted, and the
//! image and MNIST runs resume from it (`--resume DIR`) to the numbers of a run that never
//! stopped.

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

/// Runs `fprinciple` to its end and returns its only new run directory under `out`.
fn run_to_end(out: &std::path::Path, args: &[&str]) -> std::path::PathBuf {
    let status = Command::new(env!("CARGO_BIN_EXE_fprinciple"))
        .arg("--out")
        .arg(out)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{args:?}");
    only_run(out)
}

fn only_run(out: &std::path::Path) -> std::path::PathBuf {
    let runs: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.into_iter().next().unwrap()
}

fn summary(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// Starts a run, sends SIGINT as soon as its first checkpoint exists, and returns its run
/// directory and stderr; `None` if the run ended before the signal could stop it.
fn interrupt_after_first_checkpoint(
    out: &std::path::Path,
    args: &[&str],
) -> Option<(std::path::PathBuf, String)> {
    let child = Command::new(env!("CARGO_BIN_EXE_fprinciple"))
        .arg("--out")
        .arg(out)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let dir = std::fs::read_dir(out)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path());
        if dir.is_some_and(|d| d.join("checkpoint.bin").exists()) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let dir = only_run(out);
    if summary(&dir)["status"] == "completed" {
        return None;
    }
    assert!(
        !output.status.success(),
        "an interrupted run exits non-zero"
    );
    Some((dir, String::from_utf8_lossy(&output.stderr).into_owned()))
}

/// Interrupts a run of `command` with `flags` (the number of `steps` in `flags` grows until
/// the signal arrives before the end), checks the partial run directory, resumes it, and
/// compares the result with a run that never stopped.
fn interrupt_resume_and_compare(
    command: &str,
    flags: &[&str],
    length_flag: &str,
    lengths: &[&str],
) {
    if Command::new("kill").arg("-l").output().is_err() {
        println!("skipped: no `kill` command to send SIGINT");
        return;
    }
    let base = std::env::temp_dir().join(format!(
        "fprinciple-resume-{command}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&base);
    for length in lengths {
        let mut args = vec![command];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[length_flag, length]);
        let stopped = base.join(format!("stopped-{length}"));
        let Some((dir, stderr)) = interrupt_after_first_checkpoint(&stopped, &args) else {
            continue;
        };
        // A valid partial run directory, marked interrupted, that says how to continue.
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert_eq!(summary(&dir)["status"], "interrupted");
        assert!(dir.join("index.html").exists() && dir.join("metrics.csv").exists());
        let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(page.contains("--resume"), "the page tells how to resume");
        let partial = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();

        let status = Command::new(env!("CARGO_BIN_EXE_fprinciple"))
            .args([command, "--resume", dir.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(only_run(&stopped), dir, "resumed in the same directory");
        assert_eq!(summary(&dir)["status"], "completed");
        let resumed = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        assert!(resumed.starts_with(&partial), "the earlier rows are kept");
        assert!(resumed.len() > partial.len());

        let straight = run_to_end(&base.join(format!("straight-{length}")), &args);
        assert_eq!(
            resumed,
            std::fs::read_to_string(straight.join("metrics.csv")).unwrap(),
            "the resumed run has the straight run's numbers"
        );
        std::fs::remove_dir_all(&base).unwrap();
        return;
    }
    panic!("every run ended before SIGINT reached it: {lengths:?}");
}

#[test]
fn an_interrupted_image_run_resumes_to_the_numbers_of_a_straight_run() {
    interrupt_resume_and_compare(
        "image",
        &[
            "--size",
            "8",
            "--bands",
            "2",
            "--hidden",
            "16",
            "--observe-every",
            "20",
            "--checkpoint-every",
            "50",
        ],
        "--steps",
        &["3000", "30000"],
    );
}

#[test]
fn an_interrupted_mnist_run_resumes_to_the_numbers_of_a_straight_run() {
    interrupt_resume_and_compare(
        "mnist",
        &[
            "--train-samples",
            "300",
            "--test-samples",
            "100",
            "--widths",
            "784,32,10",
            "--gains",
            "1,4",
        ],
        "--epochs",
        &["40", "400"],
    );
}
